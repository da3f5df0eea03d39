"""Checks of numbers, choices and attack budgets (`tfdefend.utils.validation`)."""

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
