"""DnCNN: the residual-learning denoiser of Zhang et al. (IEEE TIP 2017)."""

import keras

from tfdefend.utils.validation import check_input_shape, check_model_kwargs, check_positive_int
from tfdefend.models._layers import conv_stack, image_input
from tfdefend.models._losses import denoiser_loss, reconstruction_mse
from tfdefend.models._shapes import check_image_shape
from tfdefend.models.base_model import BaseModel, dtype_scope, float32_output
from tfdefend.models.registry import register_image_model


@register_image_model(
    "dncnn", "preprocessor",
    "DnCNN (Zhang et al. 2017): 17-layer CNN predicting the noise, outputs clip(x - noise).")
class DnCNN(BaseModel):
    """DnCNN: a plain deep CNN that predicts the noise (residual learning) and subtracts it.

    `depth` 3x3 convolutions, "same" padding, at full resolution:

    * 1: convolution (`filters`, with bias) -> ReLU;
    * 2 .. depth-1: convolution (`filters`, no bias) -> batch norm -> ReLU;
    * depth: convolution to the image's channels (no bias) -> the noise `v`.

    The model returns `clip(x - v, 0, 1)`. The bias layout is that of the
    authors' Keras code. The last convolution starts at zero, so an
    untrained DnCNN is the identity on images in [0, 1].

    Parameters (they do not depend on height and width): with `filters=64`
    and C channels, `9*C*64 + 64 + (depth - 2) * (9*64*64 + 4*64) + 9*64*C`,
    of which `2*64` per batch norm are the non-trainable moving statistics.
    C = 3, depth 17: 560,320 (558,400 trainable); depth 20 (the blind
    DnCNN-B/CDnCNN-B): 669,376 trainable, the 6.69e5 quoted by RL-Restore
    and the seed's cost table.

    Training: `model.compile(optimizer="adam"); model.fit(x_noisy, x_clean)`.
    `compute_loss` is the squared error `mean (model(x_noisy) - target) ** 2`
    (per image, then over the batch), the target being `y` if given, else
    `x`; any loss passed to `compile` is ignored.

    Args:
        input_shape: (height, width, channels) of the images in [0, 1]; height
            and width may be None: the model then takes images of any size.
        depth: Number of convolutions (>= 3; 17 in the paper, 20 for blind denoising).
        filters: Channels of the hidden convolutions (64 in the paper).
        dtype: The dtype policy (see `BaseModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 1), depth=17, filters=64, dtype=None, **kwargs):
        check_model_kwargs("DnCNN", kwargs)
        input_shape = check_image_shape(input_shape, check_input_shape)  # height and width may be None
        depth = check_positive_int(depth, "depth", minimum=3)
        filters = check_positive_int(filters, "filters")

        with dtype_scope(dtype):
            inputs = image_input(input_shape)
            x = conv_stack(inputs, filters, depth - 1, batch_norm=True)
            noise = keras.layers.Conv2D(input_shape[-1], 3, padding="same", use_bias=False,
                                        kernel_initializer="zeros", name="noise")(x)
            denoised = keras.layers.Subtract(name="subtract_noise")([inputs, noise])
            outputs = keras.layers.ReLU(max_value=1.0, name="clip")(denoised)
            outputs = float32_output(outputs)
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)
        self.store_config(input_shape=input_shape, depth=depth, filters=filters)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """`mean (y_pred - target) ** 2` plus any layer losses; `target` is `y`, or `x` if `y` is None.

        `y_pred` is the output of the forward pass on `x`; if it is None that
        forward pass is run here.
        """
        return denoiser_loss(self, reconstruction_mse, x, y, y_pred, sample_weight, training)
