"""Image shapes with unknown (None) height and width: the check, and padding that works for any size.

Fully convolutional models accept `input_shape=(None, None, channels)` so
one trained model serves every image size (as keras-hub's backbones do).
Those that pad to a multiple of their total stride use `pad_to_multiple`
and `crop_back`, which keep the static `ZeroPadding2D`/`Cropping2D` layers
for known sizes (so saved models are unchanged) and use the dynamic
`PadToMultiple`/`CropLike` layers for unknown ones.
"""

import keras
from keras import ops

from tfdefend.utils.validation import check_positive_int


def check_image_shape(input_shape, check, name="input_shape", *, min_size=1):
    """Checks `(height, width, channels)` with `check`, allowing None height and width.

    Args:
        input_shape: The shape to check.
        check: The check of a known shape (`check_input_shape`), called as
            `check(shape, name, min_size=min_size)`; unknown dimensions are
            passed to it as `min_size`.
        name: Argument name used in error messages.
        min_size: Smallest height and width the model can take.

    Returns:
        The shape as a tuple (None kept, the other values Python ints).

    Raises:
        TypeError: If `input_shape` is not a list/tuple of ints and Nones.
        ValueError: If it does not have length 3, a value is < 1 (or
            `min_size` for height and width), or the channels are None.
    """
    if not (isinstance(input_shape, (tuple, list)) and len(input_shape) == 3
            and any(dim is None for dim in input_shape[:2])):
        return check(input_shape, name, min_size=min_size)
    if input_shape[2] is None:
        raise ValueError(f"`{name}` must have a known number of channels, got {tuple(input_shape)!r}.")
    known = tuple(max(min_size, 1) if dim is None else dim for dim in input_shape[:2]) + (input_shape[2],)
    checked = check(known, name, min_size=min_size)
    return tuple(None if given is None else dim for given, dim in zip(input_shape, checked))


@keras.saving.register_keras_serializable(package="tfdefend")
class PadToMultiple(keras.layers.Layer):
    """Zero-pads height and width at the bottom/right up to multiples of `multiple` (any input size).

    The dynamic counterpart of a `ZeroPadding2D` whose padding is computed
    from a known size: models built for `(None, None, C)` images use it
    (with `CropLike` to undo it) so one model serves every image size.

    Args:
        multiple: The multiple (an int >= 1).
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(self, multiple, **kwargs):
        super().__init__(**kwargs)
        self.multiple = check_positive_int(multiple, "multiple")

    def call(self, inputs):
        shape = ops.shape(inputs)
        pad_h = (-shape[1]) % self.multiple
        pad_w = (-shape[2]) % self.multiple
        return ops.pad(inputs, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])

    def compute_output_shape(self, input_shape):
        def padded(dim):
            return None if dim is None else dim + (-dim) % self.multiple
        return (input_shape[0], padded(input_shape[1]), padded(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package="tfdefend")
class CropLike(keras.layers.Layer):
    """Crops `inputs[0]` at the bottom/right to the height and width of `inputs[1]`.

    It undoes `PadToMultiple` for images of any size.
    """

    def call(self, inputs):
        x, reference = inputs
        shape = ops.shape(reference)
        return x[:, : shape[1], : shape[2], :]

    def compute_output_shape(self, input_shape):
        x_shape, reference_shape = input_shape
        return (x_shape[0], reference_shape[1], reference_shape[2], x_shape[3])


def pad_to_multiple(x, multiple, name="pad"):
    """`x` zero-padded at the bottom/right to height and width multiples of `multiple`.

    With a known height and width this is the `ZeroPadding2D` the models
    always used (or nothing when no padding is needed), so their layers and
    saved files are unchanged; with an unknown (None) one it is a
    `PadToMultiple` layer.

    Returns:
        `(padded, padding)`: `padding` is the static `(bottom, right)`
        padding, or None where a dimension is unknown; pass it to
        `crop_back`.
    """
    dims = tuple(x.shape[1:3])
    if any(dim is None for dim in dims):
        return PadToMultiple(multiple, name=name)(x), None
    pad = tuple((-dim) % multiple for dim in dims)
    if any(pad):
        x = keras.layers.ZeroPadding2D(((0, pad[0]), (0, pad[1])), name=name)(x)
    return x, pad


def crop_back(x, padding, reference, name="crop"):
    """Undoes `pad_to_multiple`: crops `x` to the height and width of `reference` (the unpadded tensor)."""
    if padding is None:
        return CropLike(name=name)([x, reference])
    if any(padding):
        x = keras.layers.Cropping2D(((0, padding[0]), (0, padding[1])), name=name)(x)
    return x
