"""Tests of `tfdefend.utils.validation`: each check names the argument and returns the normalized value."""

import numpy as np
import pytest

from tfdefend.utils import check_batch_images, check_clip, check_eps, check_labels, check_norm
from tfdefend.utils import validation as V


def test_norm_aliases():
    assert check_norm(np.inf) == check_norm("linf") == check_norm("inf") == "inf"
    assert check_norm(2) == check_norm("L2") == "l2"
    with pytest.raises(ValueError, match="norm"):
        check_norm(1)
    with pytest.raises(ValueError, match="norm"):
        check_norm("l3")


@pytest.mark.parametrize("bad, error, match", [
    (-0.1, ValueError, "eps"), (8.0, ValueError, "8/255"), (float("nan"), ValueError, "finite"),
    ("0.1", TypeError, "eps"), (True, TypeError, "eps"),
])
def test_eps(bad, error, match):
    with pytest.raises(error, match=match):
        check_eps(bad)


def test_l2_eps_may_exceed_one():
    assert check_eps(2.0, norm="l2") == 2.0


def test_images():
    x = check_batch_images(np.zeros((2, 4, 4, 1), np.uint8))
    assert x.dtype.name == "float32"
    with pytest.raises(ValueError, match="rank 4"):
        check_batch_images(np.zeros((4, 4, 1)))
    with pytest.raises(ValueError, match="NaN"):
        check_batch_images(np.full((1, 2, 2, 1), np.nan))
    with pytest.raises(ValueError, match="clip range"):
        check_batch_images(np.full((1, 2, 2, 1), 255.0))
    with pytest.raises(TypeError, match="numeric"):
        check_batch_images(np.array([[[["a"]]]]))
    with pytest.raises(ValueError, match="empty"):
        check_batch_images(np.zeros((0, 2, 2, 1)))


def test_labels_and_clip():
    assert check_labels(np.array([0, 3]), 2).numpy().tolist() == [0, 3]
    with pytest.raises(ValueError, match="2 labels but the batch has 3"):
        check_labels([0, 1], 3)
    with pytest.raises(ValueError, match="< 3"):
        check_labels([0, 3], 2, num_classes=3)
    with pytest.raises(TypeError, match="integer"):
        check_labels([0.5, 1.0], 2)
    with pytest.raises(ValueError, match="min < max"):
        check_clip((1.0, 0.0))
    assert check_clip(None)[0] == -np.inf


# --------------------------------------------------------------------------- the merged checks


@pytest.mark.parametrize("kwargs, good, expected", [
    ({}, np.float32(-2.5), -2.5), ({"lo": 0.0, "hi": 1.0}, 1, 1.0), ({"lo": 0.0, "lo_open": True}, 1e-9, 1e-9),
    ({"lo": 0.0, "hi": 1.0, "hi_open": True}, np.array(0.5), 0.5),
])
def test_check_float_returns_a_python_float(kwargs, good, expected):
    out = V.check_float(good, "alpha", **kwargs)
    assert type(out) is float and out == expected


@pytest.mark.parametrize("bad, kwargs, error, match", [
    ("1", {}, TypeError, "`alpha` must be a real number"), (True, {}, TypeError, "`alpha`"),
    (np.zeros(2), {}, TypeError, "`alpha`"), (float("nan"), {}, ValueError, "`alpha` must be finite"),
    (float("inf"), {}, ValueError, "`alpha`"), (-0.1, {"lo": 0.0}, ValueError, "`alpha` must be >= 0.0"),
    (0.0, {"lo": 0.0, "lo_open": True}, ValueError, "`alpha` must be > 0.0"),
    (1.5, {"hi": 1.0}, ValueError, "`alpha` must be <= 1.0"),
    (1.0, {"hi": 1.0, "hi_open": True}, ValueError, "`alpha` must be < 1.0"),
])
def test_check_float_refuses(bad, kwargs, error, match):
    with pytest.raises(error, match=match):
        V.check_float(bad, "alpha", **kwargs)


@pytest.mark.parametrize("check, good, bad_value, bad_type", [
    (V.check_positive_float, 0.5, 0.0, "x"), (V.check_non_negative_float, 0.0, -1e-9, None),
    (V.check_rate, 0.0, 1.0, True),
])
def test_float_shortcuts(check, good, bad_value, bad_type):
    assert check(good, "rate") == good and isinstance(check(good, "rate"), float)
    with pytest.raises(ValueError, match="`rate`"):
        check(bad_value, "rate")
    with pytest.raises(TypeError, match="`rate`"):
        check(bad_type, "rate")


def test_check_int_and_positive_int():
    assert V.check_int(np.int64(-3), "size") == -3 and type(V.check_int(np.int64(3), "size")) is int
    assert V.check_int(0, "size", minimum=0, maximum=0) == 0
    for bad, error in ((2.0, TypeError), (True, TypeError), ("2", TypeError)):
        with pytest.raises(error, match="`size` must be an int"):
            V.check_int(bad, "size")
    with pytest.raises(ValueError, match="`size` must be >= 1"):
        V.check_int(0, "size", minimum=1)
    with pytest.raises(ValueError, match="`size` must be <= 3"):
        V.check_int(4, "size", maximum=3)
    assert V.check_positive_int(1, "steps") == 1
    with pytest.raises(ValueError, match="`steps` must be >= 1"):
        V.check_positive_int(0, "steps")
    with pytest.raises(ValueError, match="`steps` must be <= 2147483647"):
        V.check_positive_int(2 ** 31, "steps")
    assert V.check_num_classes(2) == 2
    with pytest.raises(ValueError, match="`num_classes` must be >= 2"):
        V.check_num_classes(1)


def test_check_pair():
    assert V.check_pair(0.3, "area", V.check_float, lo=0.0, hi=1.0) == (0.3, 0.3)
    assert V.check_pair([2, 5], "d_range", V.check_int, minimum=2) == (2, 5)
    with pytest.raises(TypeError, match="`area` must be a \\(min, max\\) pair"):
        V.check_pair((0.1, 0.2, 0.3), "area", V.check_float)
    with pytest.raises(ValueError, match="`area` must satisfy min <= max"):
        V.check_pair((0.5, 0.2), "area", V.check_float)
    with pytest.raises(ValueError, match="`area` must be <= 1.0"):
        V.check_pair((0.5, 2.0), "area", V.check_float, lo=0.0, hi=1.0)
    with pytest.raises(ValueError, match="`d_range` must be >= 2"):
        V.check_pair((1, 3), "d_range", V.check_int, minimum=2)


@pytest.mark.parametrize("good", [None, 0, np.int64(7), 2 ** 32 - 1])
def test_check_seed_accepts(good):
    out = V.check_seed(good)
    assert out == good and (out is None or type(out) is int)


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (2 ** 32, ValueError), (1.0, TypeError),
                                        ("0", TypeError), (True, TypeError)])
def test_check_seed_refuses(bad, error):
    with pytest.raises(error, match="`seed`"):
        V.check_seed(bad)


def test_check_seed_required():
    assert V.check_seed(3, "rng_seed", allow_none=False) == 3
    with pytest.raises(TypeError, match="`rng_seed` must be an int, got NoneType"):
        V.check_seed(None, "rng_seed", allow_none=False)


def test_check_choice():
    assert V.check_choice("psnr", "reward", ("psnr", "probability")) == "psnr"
    with pytest.raises(TypeError, match="`reward` must be a str"):
        V.check_choice(1, "reward", ("psnr",))
    with pytest.raises(ValueError, match="`reward` must be one of"):
        V.check_choice("ssim", "reward", ("psnr",))


def test_model_constructor_checks():
    assert V.check_input_shape([28, 28, 1]) == (28, 28, 1)
    for bad, error, match in (((28, 28), ValueError, "length 3"), ("28x28", TypeError, "tuple of ints"),
                              ((28, 28.0, 1), TypeError, "hold ints"), ((28, 0, 1), ValueError, ">= 1")):
        with pytest.raises(error, match=f"`input_shape`.*{match}"):
            V.check_input_shape(bad)
    with pytest.raises(ValueError, match="`image_shape` height and width must be >= 4"):
        V.check_input_shape((3, 8, 1), "image_shape", min_size=4)
    assert V.check_units([8, np.int32(4)], "units") == (8, 4) and V.check_units((), "units") == ()
    with pytest.raises(TypeError, match="`units` must be a tuple"):
        V.check_units(8, "units")
    with pytest.raises(ValueError, match=r"`units\[1\]` must be >= 1"):
        V.check_units((8, 0), "units")
    V.check_model_kwargs("SmallCNN", {"name": "a", "trainable": False})
    with pytest.raises(TypeError, match="SmallCNN\\(\\) got unexpected keyword argument\\(s\\) 'filter'"):
        V.check_model_kwargs("SmallCNN", {"filter": 8})


def test_check_image_batch():
    out = V.check_image_batch(np.zeros((1, 2, 2, 3), np.uint8), "images")
    assert out.dtype.name == "float32" and tuple(out.shape) == (1, 2, 2, 3)
    with pytest.raises(ValueError, match="`images` must have rank 4"):
        V.check_image_batch(np.zeros((2, 2, 3)))
    with pytest.raises(TypeError, match="`images` must be numeric"):
        V.check_image_batch(np.array([[[[True]]]]))



def test_the_models_package_has_no_checks_module_of_its_own():
    import importlib

    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("tfdefend.models._checks")
