"""Input checks that raise clear `TypeError`/`ValueError`s: the one home of argument checks.

Every public entry point validates its arguments here, so the messages name
the argument and say what was expected. Never `assert` for input checks.
Each check returns the normalized value (a Python float, int, tuple or a
float32 tensor). Groups: numbers (`check_float`, `check_int`,
`check_positive_int`, `check_pair`, `check_seed`, ...), choices and
attack budgets (`check_choice`, `check_norm`, `check_clip`, `check_eps`),
model constructor arguments (`check_input_shape`, `check_num_classes`,
`check_units`, `check_model_kwargs`) and tensors (`check_batch_images`,
`check_image_batch`, `check_labels`).
"""

import math
import numbers

import numpy as np

_NORM_ALIASES = {
    "inf": "inf", "linf": "inf", "l_inf": "inf", "infinity": "inf",
    "2": "l2", "l2": "l2", "l_2": "l2",
}


def check_norm(norm, *, allowed=("inf", "l2")):
    """Normalizes a norm name: `np.inf`/"inf"/"linf" -> "inf", `2`/"l2" -> "l2".

    Raises:
        ValueError: If the norm is unknown or not in `allowed`.
    """
    if isinstance(norm, numbers.Number) and not isinstance(norm, bool):
        key = "inf" if math.isinf(norm) else ("2" if norm == 2 else str(norm))
    elif isinstance(norm, str):
        key = norm.strip().lower()
    else:
        raise ValueError(f"`norm` must be one of {list(allowed)}, got {norm!r}.")
    canonical = _NORM_ALIASES.get(key)
    if canonical not in allowed:
        raise ValueError(f"`norm` must be one of {list(allowed)} (or np.inf / 2), got {norm!r}.")
    return canonical


def check_clip(clip):
    """Checks a `(min, max)` clip range; `None` means unbounded.

    Returns:
        A `(lo, hi)` tuple of Python floats (`(-inf, inf)` for None).
    """
    if clip is None:
        return (-math.inf, math.inf)
    try:
        lo, hi = clip
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError):
        raise ValueError(f"`clip` must be a (min, max) pair of numbers or None, got {clip!r}.") from None
    if not lo < hi:
        raise ValueError(f"`clip` must satisfy min < max, got {clip!r}.")
    return (lo, hi)


def _as_float(value, name):
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.ndarray, np.generic)):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__}.")
    if isinstance(value, (np.ndarray, np.generic)) and (
            value.size != 1 or value.ndim > 0 or not np.issubdtype(value.dtype, np.number)
            or np.issubdtype(value.dtype, np.complexfloating)):
        raise TypeError(f"`{name}` must be a real number (a scalar), got an array of dtype {value.dtype} "
                        f"and shape {value.shape}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value}.")
    return value


def check_float(value, name, *, lo=None, hi=None, lo_open=False, hi_open=False):
    """Checks a finite real number in [`lo`, `hi`] (an end excluded if `lo_open`/`hi_open`).

    Args:
        value: The number (a Python or NumPy real scalar; bools are refused).
        name: Argument name used in error messages.
        lo: Smallest allowed value, or None for no lower bound.
        hi: Largest allowed value, or None for no upper bound.
        lo_open: Whether `lo` itself is refused.
        hi_open: Whether `hi` itself is refused.

    Returns:
        `value` as a Python float.

    Raises:
        TypeError: If `value` is not a real number.
        ValueError: If it is not finite or out of range.
    """
    value = _as_float(value, name)
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ValueError(f"`{name}` must be {'>' if lo_open else '>='} {lo}, got {value}.")
    if hi is not None and (value > hi or (hi_open and value == hi)):
        raise ValueError(f"`{name}` must be {'<' if hi_open else '<='} {hi}, got {value}.")
    return value


def check_positive_float(value, name):
    """Checks a finite float > 0; returns it as a Python float."""
    return check_float(value, name, lo=0.0, lo_open=True)


def check_non_negative_float(value, name):
    """Checks a finite float >= 0; returns it as a Python float."""
    return check_float(value, name, lo=0.0)


def check_rate(rate, name="dropout"):
    """Checks a rate (e.g. dropout) in [0, 1); returns it as a Python float."""
    return check_float(rate, name, lo=0.0, hi=1.0, hi_open=True)


def check_eps(eps, *, name="eps", norm="inf", clip=(0.0, 1.0), allow_zero=True):
    """Checks a perturbation budget.

    An L-inf budget larger than the width of the clip range (e.g. eps > 1 for
    images in [0, 1]) is always a mistake (usually pixel units 0..255 passed
    by accident), so it is refused.

    Returns:
        `eps` as a Python float.
    """
    eps = _as_float(eps, name)
    if eps < 0 or (eps == 0 and not allow_zero):
        raise ValueError(f"`{name}` must be {'>=' if allow_zero else '>'} 0, got {eps}.")
    lo, hi = check_clip(clip)
    if check_norm(norm) == "inf" and eps > hi - lo:
        raise ValueError(
            f"`{name}`={eps} is larger than the image range {hi - lo} (clip={clip}); "
            "give eps in the same units as the images (e.g. 8/255, not 8)."
        )
    return eps


# Counts (steps, batch sizes, ...) are int32 tensors inside the graphs: a larger value would wrap.
MAX_INT32 = 2 ** 31 - 1


def check_choice(value, name, choices):
    """Returns `value` if it is one of the strings `choices`.

    Raises:
        TypeError: If `value` is not a string.
        ValueError: If it is not one of `choices`.
    """
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a str, one of {tuple(choices)}, got {type(value).__name__}.")
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}, got {value!r}.")
    return value


def check_int(value, name, *, minimum=None, maximum=None):
    """Checks an int in [`minimum`, `maximum`] (None: unbounded on that side; bools refused).

    Returns:
        `value` as a Python int.

    Raises:
        TypeError: If `value` is not an int.
        ValueError: If it is out of range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{name}` must be <= {maximum}, got {value}.")
    return int(value)


def check_positive_int(value, name, *, minimum=1, maximum=MAX_INT32):
    """Checks a count: an int in [`minimum`, `maximum`] (default [1, 2**31 - 1]); returns a Python int."""
    return check_int(value, name, minimum=minimum, maximum=maximum)


def check_pair(pair, name, check, **kwargs):
    """Checks a `(min, max)` pair whose items pass `check(item, name, **kwargs)`, with min <= max.

    A single number `v` means `(v, v)`.

    Returns:
        The pair as a tuple of the values `check` returned.

    Raises:
        TypeError: If `pair` is neither a number nor a pair (or `check` raises it).
        ValueError: If min > max (or `check` raises it).
    """
    if isinstance(pair, (numbers.Number, np.generic)) and not isinstance(pair, bool):
        pair = (pair, pair)
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise TypeError(f"`{name}` must be a (min, max) pair, got {pair!r}.")
    lo, hi = (check(v, name, **kwargs) for v in pair)
    if lo > hi:
        raise ValueError(f"`{name}` must satisfy min <= max, got {tuple(pair)}.")
    return lo, hi


def check_seed(seed, name="seed", *, allow_none=True):
    """Checks a random seed: an int in [0, 2**32), or None when `allow_none`.

    Returns:
        None or the seed as a Python int.

    Raises:
        TypeError: If `seed` is not an int (or None where allowed).
        ValueError: If it is out of range.
    """
    if seed is None and allow_none:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        expected = "None or an int" if allow_none else "an int"
        raise TypeError(f"`{name}` must be {expected}, got {type(seed).__name__}.")
    if not 0 <= seed < 2 ** 32:
        raise ValueError(f"`{name}` must be in [0, 2**32), got {seed}.")
    return int(seed)


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
    if not bool(tf.reduce_all(tf.math.is_finite(tensor))):
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    lo, hi = check_clip(clip)
    x_min, x_max = float(tf.reduce_min(tensor)), float(tf.reduce_max(tensor))
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
