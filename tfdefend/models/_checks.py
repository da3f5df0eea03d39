"""Constructor-argument checks shared by the model classes.

Every model validates its arguments with these helpers so the error messages
name the argument and say what was expected. Never `assert` for input checks.
"""

import math
import numbers

from tfdefend.utils.validation import check_positive_int


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
        raise TypeError(
            f"`{name}` must be a (height, width, channels) tuple of ints, "
            f"got {type(input_shape).__name__}."
        )
    if len(input_shape) != 3:
        raise ValueError(
            f"`{name}` must have length 3 (height, width, channels), got {tuple(input_shape)!r}."
        )
    for dim in input_shape:
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise TypeError(f"`{name}` must hold ints, got {tuple(input_shape)!r}.")
        if dim < 1:
            raise ValueError(f"`{name}` dimensions must be >= 1, got {tuple(input_shape)!r}.")
    if min(input_shape[:2]) < min_size:
        raise ValueError(
            f"`{name}` height and width must be >= {min_size} for this model, got {tuple(input_shape)!r}."
        )
    return tuple(int(dim) for dim in input_shape)


def check_num_classes(num_classes, name="num_classes"):
    """Checks a number of classes (an int >= 2); returns it as a Python int."""
    return check_positive_int(num_classes, name, minimum=2)


def check_rate(rate, name="dropout"):
    """Checks a dropout rate in [0, 1); returns it as a Python float."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise TypeError(f"`{name}` must be a float in [0, 1), got {type(rate).__name__}.")
    rate = float(rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"`{name}` must be in [0, 1), got {rate}.")
    return rate


def check_positive_float(value, name):
    """Checks a finite float > 0; returns it as a Python float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a positive float, got {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be a finite float > 0, got {value}.")
    return value


def check_seed(seed, name="seed"):
    """Checks an optional random seed (None or an int >= 0); returns it."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"`{name}` must be None or an int, got {type(seed).__name__}.")
    if seed < 0:
        raise ValueError(f"`{name}` must be >= 0, got {seed}.")
    return int(seed)


def check_non_negative_float(value, name):
    """Checks a finite float >= 0; returns it as a Python float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a float >= 0, got {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"`{name}` must be a finite float >= 0, got {value}.")
    return value


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
        raise TypeError(
            f"{cls_name}() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}."
        )
