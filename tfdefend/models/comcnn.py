"""ComCNN, the compression CNN of ComDefend (Jia et al., CVPR 2019)."""

import keras

from tfdefend.utils.validation import check_input_shape, check_model_kwargs, check_positive_int, check_units
from tfdefend.models._shapes import check_image_shape
from tfdefend.models._layers import image_input
from tfdefend.models.base_model import BaseModel, dtype_scope, float32_output
from tfdefend.models.registry import register_image_model

COMCNN_FILTERS = (16, 32, 64, 128, 256, 128, 64, 32)
ENCODERS = ("plain", "residual")


@register_image_model(
    "comcnn", "encoder", "ComDefend's compression CNN (image -> 12-channel real-valued code).")
class ComCNN(BaseModel):
    """Compression CNN mapping an image to ComDefend's real-valued code.

    Subtracts 0.5 from the image, then applies one 3x3 "same" convolution
    with ELU per entry of `filters` (no batch norm) and a linear 3x3
    convolution to `code_channels` channels: the paper's 9 convolutions
    C-16-32-64-128-256-128-64-32-12 by default. The code keeps the spatial
    size of the image.

    With `encoder="residual"` (the residual-encoder variant), `residual_blocks`
    residual blocks (conv-ELU-conv plus identity shortcut, then ELU) follow
    convolution number `residual_after` (default: the widest one); the code
    size does not change.

    Args:
        input_shape: (height, width, channels) of the images in [0, 1]; height
            and width may be None: the model then takes images of any size.
        code_channels: Channels of the code (12 in the paper).
        filters: Widths of the ELU convolutions, first to last.
        encoder: "plain" (the paper) or "residual".
        residual_blocks: Residual blocks of the residual encoder (unused by
            the plain one).
        residual_after: 1-based index of the convolution the residual blocks
            follow; None means the widest (cheaper placements keep the
            variant affordable on a CPU).
        dtype: The dtype policy (see `BaseModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 1), code_channels=12, filters=COMCNN_FILTERS,
                 encoder="plain", residual_blocks=2, residual_after=None, dtype=None, **kwargs):
        check_model_kwargs("ComCNN", kwargs)
        input_shape = check_image_shape(input_shape, check_input_shape)  # height and width may be None
        code_channels = check_positive_int(code_channels, "code_channels")
        filters = check_units(filters, "filters")
        encoder = check_encoder(encoder)
        residual_blocks = check_positive_int(residual_blocks, "residual_blocks")
        if encoder == "residual" and not filters:
            raise ValueError("`filters` must not be empty with encoder='residual' "
                             "(the residual blocks follow the widest convolution).")
        if residual_after is not None:
            residual_after = check_positive_int(residual_after, "residual_after")
            if residual_after > len(filters):
                raise ValueError(f"`residual_after` must be <= len(filters) = {len(filters)}, "
                                 f"got {residual_after}.")

        with dtype_scope(dtype):
            inputs = image_input(input_shape)
            x = keras.layers.Rescaling(1.0, offset=-0.5, name="center")(inputs)
            place = (residual_after - 1) if residual_after is not None else (
                filters.index(max(filters)) if filters else -1)
            for i, width in enumerate(filters):
                x = keras.layers.Conv2D(width, 3, padding="same", activation="elu", name=f"conv{i + 1}")(x)
                if encoder == "residual" and i == place:
                    for block in range(residual_blocks):
                        x = _residual_block(x, width, name=f"res{block + 1}")
            code = keras.layers.Conv2D(code_channels, 3, padding="same", name="code")(x)
            code = float32_output(code)
        super().__init__(inputs=inputs, outputs=code, dtype=dtype, **kwargs)
        self.store_config(input_shape=input_shape, code_channels=code_channels, filters=filters,
                          encoder=encoder, residual_blocks=residual_blocks, residual_after=residual_after)


def check_encoder(encoder):
    """Checks the encoder variant name ("plain" or "residual"); returns it."""
    if not isinstance(encoder, str) or encoder not in ENCODERS:
        raise ValueError(f"`encoder` must be one of {list(ENCODERS)}, got {encoder!r}.")
    return encoder


def _residual_block(x, width, name):
    """conv 3x3 - ELU - conv 3x3, plus the identity shortcut, then ELU."""
    y = keras.layers.Conv2D(width, 3, padding="same", activation="elu", name=f"{name}_conv1")(x)
    y = keras.layers.Conv2D(width, 3, padding="same", name=f"{name}_conv2")(y)
    y = keras.layers.Add(name=f"{name}_add")([x, y])
    return keras.layers.Activation("elu", name=f"{name}_elu")(y)
