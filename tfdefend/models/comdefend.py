"""ComDefend: a compression-reconstruction preprocessing defense (Jia et al., CVPR 2019)."""

import keras
from keras import ops

from tfdefend.utils.validation import (
    check_input_shape,
    check_model_kwargs,
    check_non_negative_float,
    check_seed,
)
from tfdefend.models._layers import CodeBinarizer, MeanSquarePenalty, image_input
from tfdefend.models._losses import reconstruction_mse, sum_losses
from tfdefend.models.comcnn import COMCNN_FILTERS, ComCNN
from tfdefend.models._shapes import check_image_shape
from tfdefend.models.base_model import BaseModel, dtype_scope, float32_output
from tfdefend.models.registry import IMAGE_DEFAULTS, register_image_model
from tfdefend.models.rescnn import RESCNN_FILTERS, ResCNN
from tfdefend.utils.distribute import scale_for_replicas


@register_image_model(
    "comdefend_residual", "preprocessor",
    "ComDefend with residual blocks in the ComCNN encoder (the residual-encoder variant).",
    defaults={**IMAGE_DEFAULTS, "encoder": "residual"})
@register_image_model(
    "comdefend", "preprocessor", "ComDefend: ComCNN -> binary 12-channel code -> ResCNN reconstruction.")
class ComDefend(BaseModel):
    """ComDefend preprocessor: compress to a binary code, then reconstruct.

    `code = comcnn(x)` (a `ComCNN`); at inference it is binarized as
    `1[sigmoid(code) > 0.5]`, exactly {0, 1}, without noise. In training,
    `quantizer="noisy_sigmoid"` (the paper) quantizes softly as
    `sigmoid(code - n)`, `n ~ N(0, noise_std)`; `quantizer="straight_through"`
    feeds the decoder the inference's hard bits and back-propagates through
    that noisy sigmoid (see `CodeBinarizer`), so training sees what
    inference sees.
    `rescnn` (a `ResCNN`) maps the result back to an image in [0, 1].

    Training: `model.compile(optimizer="adam"); model.fit(x_clean)` (or
    `fit(x_clean, x_clean)`). `compute_loss` returns
    `MSE(reconstruction, target) + code_weight * mean(code ** 2)`, with the
    target `y` if given, else `x`; any loss passed to `compile` is ignored.
    The code penalty is added as a layer loss by the `code_penalty` layer in
    the same forward pass that produced `y_pred`, so `compute_loss` reads it
    from `self.losses` instead of running the encoder twice. Both terms are
    tracked as the `reconstruction_loss` and `code_loss` metrics.

    At inference the binarization has a zero gradient almost everywhere:
    gradient attacks against a defended classifier need BPDA.

    Args:
        input_shape: (height, width, channels) of the images in [0, 1]; height
            and width may be None: the model then takes images of any size.
        code_channels: Channels of the code (12 in the paper).
        comcnn_filters: Widths of the ComCNN's ELU convolutions.
        rescnn_filters: Widths of the ResCNN's ELU convolutions.
        encoder: "plain" (the paper) or "residual" (residual blocks in ComCNN).
        residual_blocks: Residual blocks of the residual encoder.
        residual_after: Convolution (1-based) the residual blocks follow;
            None means the widest.
        noise_std: Standard deviation of the training noise on the code (>= 0).
        code_weight: Weight lambda of the code penalty `mean(code ** 2)` (>= 0).
        quantizer: Training quantizer, "noisy_sigmoid" (the paper) or
            "straight_through"; inference is the same for both.
        seed: Optional int seed of the training noise.
        dtype: The dtype policy (see `BaseModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 1), code_channels=12, comcnn_filters=COMCNN_FILTERS,
                 rescnn_filters=RESCNN_FILTERS, encoder="plain", residual_blocks=2, residual_after=None,
                 noise_std=20.0, code_weight=1e-4, quantizer="noisy_sigmoid", seed=None, dtype=None,
                 **kwargs):
        check_model_kwargs("ComDefend", kwargs)
        input_shape = check_image_shape(input_shape, check_input_shape)  # height and width may be None
        noise_std = check_non_negative_float(noise_std, "noise_std")
        code_weight = check_non_negative_float(code_weight, "code_weight")
        seed = check_seed(seed)
        with dtype_scope(dtype):
            comcnn = ComCNN(input_shape, code_channels=code_channels, filters=comcnn_filters,
                            encoder=encoder, residual_blocks=residual_blocks, residual_after=residual_after,
                            name="comcnn", dtype=dtype)
            rescnn = ResCNN((*input_shape[:2], comcnn.code_channels), output_channels=input_shape[-1],
                            filters=rescnn_filters, name="rescnn", dtype=dtype)
            penalty = MeanSquarePenalty(code_weight, name="code_penalty")
            binarizer = CodeBinarizer(noise_std, seed=seed, quantizer=quantizer, name="binarizer")

            inputs = image_input(input_shape)
            code = penalty(comcnn(inputs))
            outputs = rescnn(binarizer(code))
            outputs = float32_output(outputs)
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)
        self.comcnn = comcnn
        self.rescnn = rescnn
        self.code_penalty = penalty
        self.binarizer = binarizer
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.code_tracker = keras.metrics.Mean(name="code_loss")
        self.store_config(input_shape=input_shape, code_channels=comcnn.code_channels,
                          comcnn_filters=comcnn.filters, rescnn_filters=rescnn.filters,
                          encoder=comcnn.encoder, residual_blocks=comcnn.residual_blocks,
                          residual_after=comcnn.residual_after, noise_std=noise_std, code_weight=code_weight,
                          quantizer=binarizer.quantizer, seed=seed)

    def encode(self, x):
        """Returns the real-valued code `comcnn(x)`, shape (batch, height, width, code_channels)."""
        return self.comcnn(x, training=False)

    def binary_code(self, x):
        """Returns the inference code `1[sigmoid(comcnn(x)) > 0.5]` (float32, exactly 0 or 1)."""
        return self.binarizer(self.encode(x), training=False)

    def differentiable_approximation(self, x):
        """The inference output with a straight-through gradient at the binarizer.

        Forward: exactly `self(x)` at inference (binary code). Backward: the
        binarization is treated as the identity on the code, so gradients
        flow through both CNNs. This is the BPDA approximation that targets
        only the non-differentiable step (Athalye et al., 2018), stronger
        than treating the whole defense as the identity.
        """
        code = self.encode(x)
        binary = self.binarizer(code, training=False)
        return self.decode(code + ops.stop_gradient(ops.cast(binary, code.dtype) - code))

    def decode(self, code):
        """Returns the reconstruction `rescnn(code)` of a (binary) code."""
        return self.rescnn(code, training=False)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """`MSE(y_pred, target) + code_weight * mean(code ** 2)`; `target` is `y`, or `x` if `y` is None.

        `y_pred` must come from the forward pass `self(x)` just before (as in
        `fit`/`evaluate`), whose `code_penalty` layer added the code term to
        `self.losses`; if `y_pred` is None that forward pass is run here.
        """
        if y_pred is None:
            y_pred = self(x, training=training)
        reconstruction = reconstruction_mse(x if y is None else y, y_pred, sample_weight)
        code_loss = sum_losses(self.code_penalty.losses, y_pred.dtype)
        # self.losses: the code term plus any other layer losses (none by default).
        total = reconstruction + sum_losses(self.losses, y_pred.dtype)
        self.reconstruction_tracker.update_state(reconstruction)
        self.code_tracker.update_state(code_loss)
        # Keras sums the replicas' gradients under tf.distribute: return this replica's share of the mean.
        return scale_for_replicas(total, ops.shape(y_pred)[0])
