"""Small custom layers shared by the preprocessing-defense models.

They are registered Keras layers (not `keras.layers.Lambda`), so every model
that uses them loads with `keras.models.load_model(..., safe_mode=True)`.
"""

import keras
from keras import ops

from tfdefend.utils.validation import (
    check_choice,
    check_input_shape,
    check_model_kwargs,
    check_non_negative_float,
    check_num_classes,
    check_rate,
    check_seed,
    check_units,
)
from tfdefend.models.base_model import float32_output
from tfdefend.utils.distribute import replica_rows


def _normal_like(x, stddev, seed_generator):
    """`N(0, stddev)` noise shaped like `x`; under tf.distribute, this replica's rows of a global-batch draw."""
    return replica_rows(lambda n: keras.random.normal((n,) + tuple(ops.shape(x)[1:]), stddev=stddev,
                                                      dtype=x.dtype, seed=seed_generator), ops.shape(x)[0])


QUANTIZERS = ("noisy_sigmoid", "straight_through")  # CodeBinarizer's training quantizers


def _hard_bits(code):
    """`1[sigmoid(code) > 0.5]` in the code's dtype (exactly 0 or 1)."""
    return ops.cast(ops.greater(ops.sigmoid(code), 0.5), code.dtype)


@keras.saving.register_keras_serializable(package="tfdefend")
class CodeBinarizer(keras.layers.Layer):
    """ComDefend's code quantizer: soft bits in training, hard bits at inference.

    Inference (either quantizer): `1[sigmoid(code) > 0.5]`, exactly 0 or 1;
    its gradient is zero almost everywhere, so gradient attacks need BPDA.

    Training, `quantizer="noisy_sigmoid"` (the paper): `sigmoid(code - n)`
    with `n ~ N(0, noise_std)` drawn from the layer's
    `keras.random.SeedGenerator`, which pushes the encoder towards
    large-magnitude codes that survive binarization. The decoder then learns
    to read noisy soft bits, which the inference bits do not resemble when
    the codes stay small next to `noise_std`.

    Training, `quantizer="straight_through"`: the forward output is hard
    bits `1[sigmoid(code - n) > 0.5]` of the noisy code, the backward pass
    the gradient of `sigmoid(code - n)` (a straight-through estimator).
    The decoder reads bits as at inference; with `noise_std > 0` some are
    flipped where `|code|` is small next to the noise, which rewards codes
    with a margin; with `noise_std = 0` the forward output is exactly the
    inference's.

    Args:
        noise_std: Standard deviation of the training noise (>= 0).
        seed: Optional int seed of the noise.
        quantizer: "noisy_sigmoid" or "straight_through" (training only).
        **kwargs: Passed to `keras.layers.Layer`.

    Raises:
        ValueError: If `quantizer` is unknown or `noise_std` is negative.
    """

    def __init__(self, noise_std=20.0, seed=None, quantizer="noisy_sigmoid", **kwargs):
        super().__init__(**kwargs)
        self.noise_std = check_non_negative_float(noise_std, "noise_std")
        self.seed = check_seed(seed)
        self.quantizer = check_choice(quantizer, "quantizer", QUANTIZERS)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, code, training=None):
        if not training:
            return _hard_bits(code)
        noisy = code
        if self.noise_std > 0:
            noisy = code - _normal_like(code, self.noise_std, self.seed_generator)
        soft = ops.sigmoid(noisy)
        if self.quantizer == "straight_through":
            return soft + ops.stop_gradient(_hard_bits(noisy) - soft)
        return soft

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "noise_std": self.noise_std, "seed": self.seed,
                "quantizer": self.quantizer}


@keras.saving.register_keras_serializable(package="tfdefend")
class MeanSquarePenalty(keras.layers.Layer):
    """Identity layer that adds `weight * mean(x ** 2)` as a layer loss.

    The loss is added on every call (training and inference), so it appears
    in `model.losses` right after the forward pass that produced it; Keras
    clears layer losses at the start of each outermost call.

    Args:
        weight: Multiplier of the penalty (>= 0).
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, weight=1e-4, **kwargs):
        super().__init__(**kwargs)
        self.weight = check_non_negative_float(weight, "weight")

    def call(self, inputs):
        self.add_loss(self.weight * ops.mean(ops.square(inputs)))
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}


@keras.saving.register_keras_serializable(package="tfdefend")
class ClippedGaussianNoise(keras.layers.Layer):
    """Adds `N(0, stddev)` noise and clips to [0, 1], in training only.

    Args:
        stddev: Standard deviation of the noise (>= 0).
        seed: Optional int seed of the layer's `keras.random.SeedGenerator`.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, stddev=0.1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = check_non_negative_float(stddev, "noise_std")
        self.seed = check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, inputs, training=None):
        if training and self.stddev > 0:
            noise = _normal_like(inputs, self.stddev, self.seed_generator)
            return ops.clip(inputs + noise, 0.0, 1.0)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


def conv_bn_relu(x, filters, name, *, kernel_size=3, strides=1, transpose=False):
    """Functional block: (transposed) convolution -> batch norm -> ReLU.

    The convolution has no bias (the batch norm's offset replaces it) and
    "same" padding, so a stride-2 convolution gives `ceil(size / 2)` and a
    stride-2 transposed convolution `2 * size`. The batch norm's moving
    statistics use momentum 0.9 (PyTorch's default, used by the HGD
    reference code), so they settle within a few dozen training steps.

    Args:
        x: Input tensor (batch, height, width, channels).
        filters: Output channels.
        name: Prefix of the three layer names (`{name}_conv`, `_bn`, `_relu`).
        kernel_size: Convolution kernel size.
        strides: Convolution strides.
        transpose: Use `Conv2DTranspose` instead of `Conv2D`.

    Returns:
        The output tensor.
    """
    conv = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
    x = conv(filters, kernel_size, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def image_input(input_shape, name="images"):
    """The model's image input `keras.Input(shape=input_shape, name=name)` (NHWC, values in [0, 1])."""
    return keras.Input(shape=input_shape, name=name)


def check_classifier_args(class_name, kwargs, input_shape, num_classes, dropout, *, min_size=1):
    """The checks every classifier starts with; returns the checked `(input_shape, num_classes, dropout)`.

    Args:
        class_name: The classifier's class name, for error messages.
        kwargs: Its extra keyword arguments (only `name` and `trainable` pass).
        input_shape: (height, width, channels) of the images.
        num_classes: Number of logits (>= 2).
        dropout: A dropout rate in [0, 1).
        min_size: Smallest height and width the classifier can take.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """
    check_model_kwargs(class_name, kwargs)
    return (check_input_shape(input_shape, min_size=min_size), check_num_classes(num_classes),
            check_rate(dropout, "dropout"))


def classifier_head(x, num_classes, *, pooling, hidden=(), hidden_dropout=0.0, dropout=0.0,
                    keep_dropout=False):
    """The classifiers' shared head: pooling, hidden ReLU dense layers, dropout, float32 logits.

    Args:
        x: Feature map (batch, height, width, channels).
        num_classes: Number of logits (the `logits` dense layer).
        pooling: "flatten" (`Flatten`, named `flatten`) or "avg"
            (`GlobalAveragePooling2D`, named `pool`).
        hidden: `(units, name)` of each hidden ReLU dense layer, first to last.
        hidden_dropout: Dropout rate after each hidden layer (named
            `dropout{i}`, 1-based; none when 0).
        dropout: Dropout rate before the logits (named `dropout`).
        keep_dropout: Add that dropout layer even when `dropout` is 0.

    Returns:
        The logits, float32 under a mixed-precision policy (`float32_output`).

    Raises:
        ValueError: If `pooling` is unknown.
    """
    if pooling == "flatten":
        x = keras.layers.Flatten(name="flatten")(x)
    elif pooling == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    else:
        raise ValueError(f"`pooling` must be 'flatten' or 'avg', got {pooling!r}.")
    for i, (units, name) in enumerate(hidden, start=1):
        x = keras.layers.Dense(units, activation="relu", name=name)(x)
        if hidden_dropout > 0:
            x = keras.layers.Dropout(hidden_dropout, name=f"dropout{i}")(x)
    if dropout > 0 or keep_dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    return float32_output(keras.layers.Dense(num_classes, name="logits")(x))


def conv_stack(x, filters, depth, *, kernel_size=3, batch_norm=False):
    """The denoisers' shared body: `depth` "same" convolutions of `filters` channels with ReLU.

    The first is `Conv2D(filters, kernel_size, activation="relu")` named
    `conv1`. The others are, with `batch_norm` (DnCNN), convolution (no
    bias) -> batch norm -> ReLU blocks named `block{i}` (`conv_bn_relu`,
    i = 2 .. depth), else (LightDenoiser) biased ReLU convolutions named
    `conv{i}`.

    Args:
        x: Input tensor (batch, height, width, channels).
        filters: Channels of every convolution.
        depth: Number of convolutions (>= 1).
        kernel_size: Kernel size of the plain convolutions (the batch-norm
            blocks use 3).
        batch_norm: Use the batch-norm blocks after the first convolution.

    Returns:
        The output tensor.
    """
    x = keras.layers.Conv2D(filters, kernel_size, padding="same", activation="relu", name="conv1")(x)
    for i in range(2, depth + 1):
        if batch_norm:
            x = conv_bn_relu(x, filters, f"block{i}")
        else:
            x = keras.layers.Conv2D(filters, kernel_size, padding="same", activation="relu",
                                    name=f"conv{i}")(x)
    return x


def check_widths(widths, name="filters"):
    """Checks layer widths with `check_units` and refuses an empty tuple; returns them.

    Args:
        widths: The widths (positive ints), first layer first.
        name: Argument name used in error messages.

    Raises:
        TypeError: If `widths` is not a tuple/list of ints.
        ValueError: If a width is < 1 or there is none.
    """
    widths = check_units(widths, name)
    if not widths:
        raise ValueError(f"`{name}` must hold at least one width.")
    return widths
