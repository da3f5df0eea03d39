"""ResCNN, the reconstruction CNN of ComDefend (Jia et al., CVPR 2019)."""

import keras

from tfdefend.utils.validation import check_input_shape, check_model_kwargs, check_positive_int, check_units
from tfdefend.models._shapes import check_image_shape
from tfdefend.models._layers import image_input
from tfdefend.models.base_model import BaseModel, dtype_scope, float32_output
from tfdefend.models.registry import register_image_model

RESCNN_FILTERS = (32, 64, 128, 256, 128, 64, 32, 16)


@register_image_model(
    "rescnn", "decoder", "ComDefend's reconstruction CNN (12-channel code -> image in [0, 1]).",
    defaults={"input_shape": (28, 28, 12), "output_channels": 1})
class ResCNN(BaseModel):
    """Reconstruction CNN mapping a (binary) code back to an image in [0, 1].

    One 3x3 "same" convolution with ELU per entry of `filters` (no batch
    norm), then a 3x3 convolution to `output_channels` with a sigmoid: the
    paper's 9 convolutions 12-32-64-128-256-128-64-32-16-C by default.

    Args:
        input_shape: (height, width, code_channels) of the code; height and
            width may be None (any size).
        output_channels: Channels of the reconstructed image.
        filters: Widths of the ELU convolutions, first to last.
        dtype: The dtype policy (see `BaseModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 12), output_channels=1, filters=RESCNN_FILTERS, dtype=None,
                 **kwargs):
        check_model_kwargs("ResCNN", kwargs)
        input_shape = check_image_shape(input_shape, check_input_shape)  # height and width may be None
        output_channels = check_positive_int(output_channels, "output_channels")
        filters = check_units(filters, "filters")

        with dtype_scope(dtype):
            inputs = image_input(input_shape, name="code")
            x = inputs
            for i, width in enumerate(filters):
                x = keras.layers.Conv2D(width, 3, padding="same", activation="elu", name=f"conv{i + 1}")(x)
            outputs = keras.layers.Conv2D(output_channels, 3, padding="same", activation="sigmoid",
                                          name="reconstruction")(x)
            outputs = float32_output(outputs)
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)
        self.store_config(input_shape=input_shape, output_channels=output_channels, filters=filters)
