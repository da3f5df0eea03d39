"""LightDenoiser: a small residual CNN, one tool of the RL denoiser chain (RL-Restore, Yu et al. 2018)."""

import keras

from tfdefend.utils.validation import check_input_shape, check_model_kwargs, check_positive_int
from tfdefend.models._layers import conv_stack, image_input
from tfdefend.models._losses import denoiser_loss, reconstruction_mse
from tfdefend.models._shapes import check_image_shape
from tfdefend.models.base_model import BaseModel, dtype_scope, float32_output
from tfdefend.models.registry import register_image_model


@register_image_model(
    "light_denoiser", "preprocessor",
    "Light residual CNN denoiser (a tool of the RL chain): clip(x + correction, 0, 1).")
class LightDenoiser(BaseModel):
    """A plain residual CNN that predicts a correction and adds it to its input.

    `depth` convolutions ("same" padding): the first `depth - 1` have
    `filters` channels, a bias and a ReLU (no batch norm, as in RL-Restore's
    3- and 8-layer tools); the last maps back to the image's channels,
    linearly. The model returns `clip(x + correction, 0, 1)`.

    The last convolution starts at zero (kernel and bias), so an untrained
    tool is the identity on images in [0, 1]: a chain of untrained tools
    leaves images unchanged.

    Training (pixel-guided): `model.compile(optimizer="adam");
    model.fit(x_adv, x_clean)`. `compute_loss` is the squared error
    `mean (model(x_adv) - target) ** 2` (per image, then over the batch),
    the target being `y` if given, else `x`; any loss passed to `compile` is
    ignored.

    Args:
        input_shape: (height, width, channels) of the images in [0, 1]; height
            and width may be None: the model then takes images of any size.
        depth: Number of convolutions (>= 2; the seed's tools use 3 and 8).
        filters: Channels of the hidden convolutions.
        kernel_size: Size of every (square) convolution kernel.
        dtype: The dtype policy (see `BaseModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 1), depth=3, filters=32, kernel_size=3, dtype=None, **kwargs):
        check_model_kwargs("LightDenoiser", kwargs)
        input_shape = check_image_shape(input_shape, check_input_shape)  # height and width may be None
        depth = check_positive_int(depth, "depth", minimum=2)
        filters = check_positive_int(filters, "filters")
        kernel_size = check_positive_int(kernel_size, "kernel_size")

        with dtype_scope(dtype):
            inputs = image_input(input_shape)
            x = conv_stack(inputs, filters, depth - 1, kernel_size=kernel_size)
            correction = keras.layers.Conv2D(input_shape[-1], kernel_size, padding="same",
                                             kernel_initializer="zeros", name="correction")(x)
            restored = keras.layers.Add(name="add_correction")([inputs, correction])
            outputs = keras.layers.ReLU(max_value=1.0, name="clip")(restored)
            outputs = float32_output(outputs)
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)
        self.store_config(input_shape=input_shape, depth=depth, filters=filters, kernel_size=kernel_size)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """`mean (y_pred - target) ** 2` plus any layer losses; `target` is `y`, or `x` if `y` is None.

        `y_pred` is the output of the forward pass on `x`; if it is None that
        forward pass is run here.
        """
        return denoiser_loss(self, reconstruction_mse, x, y, y_pred, sample_weight, training)
