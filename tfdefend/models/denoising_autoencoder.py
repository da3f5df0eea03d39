"""A convolutional denoising autoencoder, the plain learned-denoiser baseline."""

import keras

from tfdefend.utils.validation import (
    check_input_shape,
    check_model_kwargs,
    check_non_negative_float,
    check_seed,
    check_units,
)
from tfdefend.models._layers import ClippedGaussianNoise
from tfdefend.models._losses import denoiser_loss, reconstruction_mse
from tfdefend.models._shapes import check_image_shape, crop_back, pad_to_multiple
from tfdefend.models.base_model import BaseModel, dtype_scope, float32_output
from tfdefend.models.registry import register_model


@register_model(
    "dae",
    defaults={"input_shape": (28, 28, 1)},
    kind="preprocessor",
    description="Convolutional denoising autoencoder (stride-2 encoder, transposed-conv decoder).",
)
@keras.saving.register_keras_serializable(package="tfdefend")
class DenoisingAutoencoder(BaseModel):
    """Convolutional denoising autoencoder mapping images in [0, 1] to images in [0, 1].

    Encoder: one 3x3 stride-2 ReLU convolution per entry of `filters`.
    Decoder: the same widths in reverse as 3x3 stride-2 ReLU transposed
    convolutions, then a 3x3 sigmoid convolution to the input's channels.
    Heights and widths that are not multiples of `2 ** len(filters)` are
    zero-padded at the bottom/right and cropped back, so the output has the
    input's shape.

    Training: `model.compile(optimizer="adam"); model.fit(x_clean)`. In
    training mode the first layer adds `N(0, noise_std)` noise (from its
    `keras.random.SeedGenerator`) and clips to [0, 1]; `compute_loss` is
    `MSE(model(clip(x + noise)), target)`, the target being `y` if given,
    else `x`. Any loss passed to `compile` is ignored. No noise at inference.

    Args:
        input_shape: (height, width, channels) of the images; height and width
            may be None: the model then takes images of any size.
        filters: Widths of the encoder convolutions (at least one).
        noise_std: Standard deviation of the training noise (>= 0).
        seed: Optional int seed of the training noise.
        dtype: Dtype policy ("float32", "mixed_float16", a `keras.DTypePolicy`;
            None: the global policy); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 1), filters=(32, 64), noise_std=0.1, seed=None, dtype=None,
                 **kwargs):
        check_model_kwargs("DenoisingAutoencoder", kwargs)
        input_shape = check_image_shape(input_shape, check_input_shape)  # height and width may be None
        filters = check_units(filters, "filters")
        if not filters:
            raise ValueError("`filters` must hold at least one width.")
        noise_std = check_non_negative_float(noise_std, "noise_std")
        seed = check_seed(seed)

        with dtype_scope(dtype):
            inputs = keras.Input(shape=input_shape, name="images")
            x = ClippedGaussianNoise(noise_std, seed=seed, name="noise")(inputs)
            x, pad = pad_to_multiple(x, 2 ** len(filters))
            for i, width in enumerate(filters):
                x = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu",
                                        name=f"encoder_conv{i + 1}")(x)
            for i, width in enumerate(reversed(filters)):
                x = keras.layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu",
                                                 name=f"decoder_deconv{i + 1}")(x)
            x = keras.layers.Conv2D(input_shape[-1], 3, padding="same", activation="sigmoid",
                                    name="reconstruction")(x)
            x = crop_back(x, pad, inputs)
            x = float32_output(x)
        super().__init__(inputs=inputs, outputs=x, dtype=dtype, **kwargs)
        self.image_shape = input_shape
        self.filters = filters
        self.noise_std = noise_std
        self.seed = seed

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """`MSE(y_pred, target)` plus any layer losses; `target` is `y`, or `x` if `y` is None.

        `y_pred` is the output of the forward pass on `x` (noisy in training);
        if it is None that forward pass is run here.
        """
        return denoiser_loss(self, reconstruction_mse, x, y, y_pred, sample_weight, training)

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_shape": self.image_shape,
            "filters": self.filters,
            "noise_std": self.noise_std,
            "seed": self.seed,
        })
        return config
