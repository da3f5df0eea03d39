"""Hypothesis strategies and checks shared by the fuzz tests.

Every generated input is either valid for the tiny 8x8x1, 10-class model of
the fuzz tests or broken in one known way; `images_ok` / `labels_ok` say
which, so a test can demand a correct result for a valid input and a clear
`ValueError`/`TypeError` naming the argument for a broken one.
"""

import math

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

SHAPE = (8, 8, 1)
NUM_CLASSES = 10

# Reproducible in CI: a fixed derandomized search, no example database, no deadline (first calls trace
# graphs).
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

# --------------------------------------------------------------------------- images

_UNIT = st.floats(0.0, 1.0, width=16)
_FLOAT_DTYPES = st.sampled_from([np.float16, np.float32, np.float64])
_BAD_DTYPES = st.one_of(
    hnp.boolean_dtypes(),
    hnp.complex_number_dtypes(),
    hnp.unicode_string_dtypes(max_len=2),
    hnp.byte_string_dtypes(max_len=2),
    hnp.datetime64_dtypes(max_period="s"),
    st.just(np.dtype(object)),
)


def _valid_images(batch_sizes=(1, 2)):
    return hnp.arrays(_FLOAT_DTYPES, st.sampled_from([(n, *SHAPE) for n in batch_sizes]), elements=_UNIT)


@st.composite
def _nonfinite(draw, batch_sizes):
    x = draw(_valid_images(batch_sizes)).astype(np.float32)
    flat = x.reshape(-1)
    for index in draw(st.lists(st.integers(0, flat.size - 1), min_size=1, max_size=3)):
        flat[index] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return x


@st.composite
def _out_of_range(draw, batch_sizes):
    x = draw(_valid_images(batch_sizes)).astype(np.float64)
    flat = x.reshape(-1)
    bad = st.one_of(st.floats(-1e6, -1e-3), st.floats(1.001, 1e6))
    for index in draw(st.lists(st.integers(0, flat.size - 1), min_size=1, max_size=3)):
        flat[index] = draw(bad)
    return x


def _ints_in_range(batch_sizes):
    """Integer images of 0/1 pixels: valid (numeric, inside [0, 1])."""
    return hnp.arrays(
        st.sampled_from([np.uint8, np.int32, np.int64]),
        st.sampled_from([(n, *SHAPE) for n in batch_sizes]),
        elements=st.integers(0, 1),
    )


def image_batches(batch_sizes=(1, 2)):
    """Image batches for the 8x8x1 model: valid ones, and ones broken in every way we know."""
    wrong_shape = hnp.arrays(
        np.float32, hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=9), elements=_UNIT
    ).filter(lambda a: a.shape[1:] != SHAPE or a.ndim != 4)
    empty = hnp.arrays(np.float32, st.just((0, *SHAPE)))
    bad_dtype = hnp.arrays(_BAD_DTYPES, st.just((1, *SHAPE)))
    pixels = hnp.arrays(np.uint8, st.just((1, *SHAPE)), elements=st.integers(2, 255))  # 0..255, not 0..1
    odd = st.sampled_from([None, "images", 3.0, [[1.0, 2.0], [3.0]], {"x": 1}, b"\x00" * 64])
    valid = _valid_images(batch_sizes)
    return st.one_of(
        valid,
        valid,
        _ints_in_range(batch_sizes),
        _nonfinite(batch_sizes),
        _out_of_range(batch_sizes),
        wrong_shape,
        empty,
        bad_dtype,
        pixels,
        odd,
    )


def images_ok(x, clip=(0.0, 1.0)):
    """Whether `x` is a valid batch for the 8x8x1 model inside `clip` (the documented rule)."""
    if not isinstance(x, np.ndarray) or x.dtype.kind not in "iuf":
        return False
    if x.shape[1:] != SHAPE or x.ndim != 4 or x.shape[0] == 0:
        return False
    values = x.astype(np.float64)
    if not np.all(np.isfinite(values)) or not np.all(np.isfinite(values.astype(np.float32))):
        return False
    lo, hi = (-math.inf, math.inf) if clip is None else clip
    return bool(values.min() >= lo and values.max() <= hi)


# --------------------------------------------------------------------------- labels


def labels_for(n):
    """Labels for a batch of `n`: valid ones and broken ones (shape, dtype, range, non-integer)."""
    valid = hnp.arrays(
        st.sampled_from([np.int32, np.int64, np.uint8]),
        st.just((n,)),
        elements=st.integers(0, NUM_CLASSES - 1),
    )
    float_ints = hnp.arrays(np.float64, st.just((n,)), elements=st.integers(0, NUM_CLASSES - 1).map(float))
    out_of_range = hnp.arrays(
        np.int64,
        st.just((n,)),
        elements=st.one_of(st.integers(-(2**40), -1), st.integers(NUM_CLASSES, 2**40)),
    )
    non_integer = hnp.arrays(np.float64, st.just((n,)), elements=st.sampled_from([0.5, np.nan, np.inf, -1.5]))
    wrong_shape = hnp.arrays(
        np.int64,
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
        elements=st.integers(0, NUM_CLASSES - 1),
    ).filter(lambda a: a.shape != (n,))
    bad_dtype = hnp.arrays(
        st.one_of(hnp.boolean_dtypes(), hnp.unicode_string_dtypes(max_len=2), st.just(np.dtype(object))),
        st.just((n,)),
    )
    odd = st.sampled_from(["0", 3, 2.5, [[0], [1]], [0, [1]]])
    lists = st.lists(st.integers(-2, NUM_CLASSES + 1), min_size=n, max_size=n)
    return st.one_of(valid, valid, float_ints, lists, out_of_range, non_integer, wrong_shape, bad_dtype, odd)


def labels_ok(y, n):
    """Whether `y` holds `n` integer class labels in [0, NUM_CLASSES)."""
    if isinstance(y, list):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in y):
            return False
        y = np.asarray(y)
    if not isinstance(y, np.ndarray) or y.shape != (n,) or y.dtype.kind not in "iuf":
        return False
    values = y.astype(np.float64)
    return bool(
        np.all(np.isfinite(values))
        and np.all(values == np.round(values))
        and np.all(values >= 0)
        and np.all(values < NUM_CLASSES)
    )


# --------------------------------------------------------------------------- scalars

ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.sampled_from([[1, 2], (0.1,), np.array([0.1, 0.2]), {"a": 1}]),
)


def reals(lo, hi):
    """Mostly finite floats in [lo, hi], plus every kind of bad value."""
    return st.one_of(
        st.floats(lo, hi),
        st.floats(lo, hi),
        st.floats(lo, hi),
        ANY_VALUE,
        st.floats(-1e9, -1e-9),
        st.sampled_from([np.float32(0.05), np.array(0.05)]),
    )


def counts(lo, hi):
    """Mostly ints in [lo, hi], plus zero, negatives, huge values, floats and junk."""
    return st.one_of(
        st.integers(lo, hi),
        st.integers(lo, hi),
        st.integers(-3, 0),
        st.integers(2**31, 2**64),
        st.sampled_from([np.int64(2), 2.0, "2", None, True]),
    )


def is_real(value):
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float, np.integer, np.floating))
        or isinstance(value, np.ndarray)
        and value.ndim == 0
        and value.dtype.kind in "iuf"
    )


def is_count(value, lo=1, hi=2**31 - 1):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and lo <= value <= hi


# --------------------------------------------------------------------------- checks


def real_ok(value, *, lo=-math.inf, hi=math.inf, zero=True):
    """Whether `value` is a finite real scalar (Python/NumPy, not bool) in [lo, hi] (> lo if not zero)."""
    if not is_real(value) or not math.isfinite(float(value)):
        return False
    return (lo <= float(value) if zero else lo < float(value)) and float(value) <= hi


def assert_clear_error(exc, *names):
    """`exc` is a ValueError/TypeError whose message names one of `names`.

    A name is matched as "`name`" (how the messages name arguments); names
    longer than 3 characters (e.g. "data", "attack") also match as a word in
    the message, case-insensitively.
    """
    assert isinstance(exc, (ValueError, TypeError)), f"{type(exc).__name__}: {exc}"
    message = str(exc)
    assert any(
        f"`{name}`" in message or (len(name) > 3 and name.lower() in message.lower()) for name in names
    ), f"the message does not name any of {names}: {message!r}"
    assert "Traceback" not in message and "in user code" not in message, message


def assert_adversarial(x_adv, x, *, eps=None, norm="inf", clip=(0.0, 1.0)):
    """`x_adv` is a finite float32 batch of `x`'s shape inside `clip` and the `norm` ball of radius `eps`."""
    x_adv = np.asarray(x_adv)
    assert x_adv.dtype == np.float32 and x_adv.shape == np.shape(x)
    assert np.all(np.isfinite(x_adv))
    if clip is not None:
        assert x_adv.min() >= clip[0] - 1e-6 and x_adv.max() <= clip[1] + 1e-6
    if eps is not None:
        delta = (x_adv.astype(np.float64) - np.asarray(x, np.float64)).reshape(len(x_adv), -1)
        size = np.abs(delta).max(axis=1) if norm == "inf" else np.sqrt((delta**2).sum(axis=1))
        assert np.all(size <= eps * (1 + 1e-5) + 1e-6), (size, eps)
