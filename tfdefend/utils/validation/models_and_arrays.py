"""Checks of model constructor arguments and of tensors (`tfdefend.utils.validation`)."""

import functools
import numbers

import numpy as np

from tfdefend.utils.validation.scalars import MAX_INT32, check_clip, check_positive_int


def check_input_shape(input_shape, name="input_shape", *, min_size=1):
    """Checks an image shape `(height, width, channels)` of positive ints.

    Args:
        input_shape: The shape to check.
        name: Argument name used in error messages.
        min_size: Smallest height and width the model can take (e.g. 4 for
            two valid 2x2 poolings).

    Returns:
        The shape as a tuple of Python ints.

    Raises:
        TypeError: If `input_shape` is not a list/tuple of ints.
        ValueError: If it does not have length 3 or holds a value < 1.
    """
    if not isinstance(input_shape, (tuple, list)):
        raise TypeError(f"`{name}` must be a (height, width, channels) tuple of ints, "
                        f"got {type(input_shape).__name__}.")
    if len(input_shape) != 3:
        raise ValueError(f"`{name}` must have length 3 (height, width, channels), got {tuple(input_shape)!r}.")
    for dim in input_shape:
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise TypeError(f"`{name}` must hold ints, got {tuple(input_shape)!r}.")
        if dim < 1:
            raise ValueError(f"`{name}` dimensions must be >= 1, got {tuple(input_shape)!r}.")
    if min(input_shape[:2]) < min_size:
        raise ValueError(f"`{name}` height and width must be >= {min_size} for this model, "
                         f"got {tuple(input_shape)!r}.")
    return tuple(int(dim) for dim in input_shape)


def check_num_classes(num_classes, name="num_classes"):
    """Checks a number of classes (an int >= 2); returns it as a Python int."""
    return check_positive_int(num_classes, name, minimum=2)


def check_units(units, name):
    """Checks a list/tuple of positive ints (e.g. hidden layer widths); may be empty.

    Returns:
        The widths as a tuple of Python ints.
    """
    if not isinstance(units, (tuple, list)):
        raise TypeError(f"`{name}` must be a tuple of positive ints, got {type(units).__name__}.")
    return tuple(check_positive_int(u, f"{name}[{i}]") for i, u in enumerate(units))


# Keyword arguments a functional `keras.Model` really uses; it silently drops any others.
_MODEL_KWARGS = ("name", "trainable")


def check_model_kwargs(cls_name, kwargs):
    """Rejects extra constructor kwargs that `keras.Model` would silently ignore.

    A functional `keras.Model` accepts and drops unknown keyword arguments,
    so a misspelt override (`filter=8`) would otherwise build the default
    architecture without a word.

    Raises:
        TypeError: Naming the unexpected keyword arguments.
    """
    unknown = sorted(set(kwargs) - set(_MODEL_KWARGS))
    if unknown:
        raise TypeError(f"{cls_name}() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}.")


@functools.cache
def _range_stats():
    """A compiled `x -> [all finite (1/0), min, max]`: one call and one read instead of three of each."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def stats(x):
        finite = tf.cast(tf.reduce_all(tf.math.is_finite(x)), tf.float32)
        return tf.stack([finite, tf.reduce_min(x), tf.reduce_max(x)])

    return stats


def check_batch_images(x, *, name="x", clip=(0.0, 1.0), rank=4):
    """Checks a batch of images and returns it as a float32 `tf.Tensor`.

    Args:
        x: Array-like or tensor of shape [batch, height, width, channels].
        name: Argument name used in error messages.
        clip: The `(min, max)` range the values must lie in, or None.
        rank: Expected rank (4 for NHWC).

    Raises:
        TypeError: If `x` is not numeric.
        ValueError: On wrong rank, empty batch, NaN/inf, or values outside `clip`.
    """
    import tensorflow as tf

    if isinstance(x, (tf.Tensor, tf.Variable)):
        if not (x.dtype.is_floating or x.dtype.is_integer):
            raise TypeError(f"`{name}` must be a numeric tensor, got dtype {x.dtype.name}.")
        tensor = tf.cast(x, tf.float32)
    else:
        try:
            array = np.asarray(x)
        except (TypeError, ValueError):  # e.g. ragged nested lists
            raise ValueError(f"`{name}` must be a rectangular numeric array [batch, height, width, "
                             f"channels], got a {type(x).__name__} that is not one.") from None
        if array.dtype == object or not (np.issubdtype(array.dtype, np.floating)
                                         or np.issubdtype(array.dtype, np.integer)):
            raise TypeError(f"`{name}` must be a numeric array, got dtype {array.dtype}.")
        tensor = tf.convert_to_tensor(array, dtype=tf.float32)
    if tensor.shape.rank != rank:
        raise ValueError(
            f"`{name}` must have rank {rank} ([batch, height, width, channels]), "
            f"got shape {tuple(tensor.shape)}."
        )
    if tensor.shape[0] == 0:
        raise ValueError(f"`{name}` must hold at least one image, got an empty batch.")
    finite, x_min, x_max = (float(v) for v in _range_stats()(tensor).numpy())
    if not finite:
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    lo, hi = check_clip(clip)
    if x_min < lo or x_max > hi:
        raise ValueError(
            f"`{name}` values must lie in the clip range [{lo}, {hi}], got [{x_min:.4g}, {x_max:.4g}]"
            " (scale images to [0, 1] or pass a matching `clip`)."
        )
    return tensor


def check_image_batch(images, name="images"):
    """Checks the dtype and rank of an image batch [batch, height, width, channels], in graph mode too.

    Unlike `check_batch_images` it reads no values (no range or NaN check),
    so it also works on symbolic tensors inside a Keras layer's `call`.

    Returns:
        `images` as a float32 tensor.

    Raises:
        TypeError: If `images` is not numeric.
        ValueError: If it does not have rank 4.
    """
    import tensorflow as tf

    images = tf.convert_to_tensor(images)
    if not (images.dtype.is_floating or images.dtype.is_integer):
        raise TypeError(f"`{name}` must be numeric, got dtype {images.dtype.name}.")
    if images.shape.rank != 4:
        raise ValueError(f"`{name}` must have rank 4 ([batch, height, width, channels]), "
                         f"got shape {tuple(images.shape)}.")
    return tf.cast(images, tf.float32)


def check_labels(y, n, *, name="y", num_classes=None):
    """Checks integer class labels for a batch of `n` samples.

    Returns:
        An int32 `tf.Tensor` of shape [n].
    """
    import tensorflow as tf

    try:
        array = np.asarray(y.numpy() if hasattr(y, "numpy") else y)
    except (TypeError, ValueError):  # e.g. ragged nested lists
        raise ValueError(f"`{name}` must be a 1-D array of int class labels, got a {type(y).__name__} "
                         "that is not one.") from None
    if array.ndim != 1:
        raise ValueError(f"`{name}` must be a 1-D array of int class labels, got shape {array.shape}.")
    if array.shape[0] != n:
        raise ValueError(f"`{name}` has {array.shape[0]} labels but the batch has {n} images.")
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise TypeError(f"`{name}` must hold integer class labels, got non-integer values.")
    elif not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"`{name}` must hold integer class labels, got dtype {array.dtype}.")
    if array.size and array.min() < 0:
        raise ValueError(f"`{name}` labels must be >= 0, got {int(array.min())}.")
    if num_classes is not None and array.size and array.max() >= num_classes:
        raise ValueError(f"`{name}` labels must be < {num_classes}, got {int(array.max())}.")
    if array.size and array.max() > MAX_INT32:
        raise ValueError(f"`{name}` labels must be < 2**31, got {array.max():.6g}.")
    return tf.convert_to_tensor(array.astype(np.int32))
