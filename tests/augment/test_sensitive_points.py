"""Tests of `sensitive_points` (AdvMask's sparse attack) and `corner_points`."""

import warnings

import numpy as np
import pytest

from tfdefend.augment import corner_points, sensitive_points

DIGITS_EPS = 0.2  # see tests/attacks/test_pgd.py: PGD-10 at 0.2 breaks the digits classifier


def test_masks_are_sparse_binary_and_keep_the_attack(digits_model):
    model, x, y, _ = digits_model
    x, y = x[:32], y[:32]
    masks, info = sensitive_points(model, x, y, eps=DIGITS_EPS, steps=30, lam=2.0, seed=0, return_info=True)
    assert masks.shape == (32, 8, 8, 1) and masks.dtype == np.float32
    assert set(np.unique(masks)) <= {0.0, 1.0}
    np.testing.assert_array_equal(info["l0"], masks.sum(axis=(1, 2, 3)))
    assert info["dense_success"].mean() >= 0.8
    assert info["success"][info["dense_success"]].mean() >= 0.9
    assert info["l0"].mean() < 0.75 * 64  # far fewer points than the dense attack's ~64 pixels
    again = sensitive_points(model, x, y, eps=DIGITS_EPS, steps=30, lam=2.0, seed=0)
    np.testing.assert_array_equal(masks, again)


def test_larger_lambda_gives_fewer_points(digits_model):
    model, x, y, _ = digits_model
    few = sensitive_points(model, x[:32], y[:32], eps=DIGITS_EPS, steps=30, lam=5.0)
    many = sensitive_points(model, x[:32], y[:32], eps=DIGITS_EPS, steps=30, lam=0.0)
    assert few.sum() < many.sum()


def test_too_few_steps_to_prune_warns_and_prunes_nothing(digits_model):
    model, x, y, _ = digits_model
    with pytest.warns(UserWarning, match=r"steps \* lr"):
        stuck = sensitive_points(model, x[:32], y[:32], eps=DIGITS_EPS, steps=10, lr=0.1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pruned = sensitive_points(model, x[:32], y[:32], eps=DIGITS_EPS, steps=10, lr=0.5)
    assert not [w for w in caught if "steps * lr" in str(w.message)]
    assert pruned.sum() < 0.75 * stuck.sum()


@pytest.mark.parametrize("kwargs,match", [
    ({"eps": -0.1}, "eps"), ({"eps": 0.0}, "eps"), ({"eps": 0.1, "lam": -1.0}, "lam"),
    ({"eps": 0.1, "eta": 2.0}, "eta"), ({"eps": 0.1, "steps": 0}, "steps"),
    ({"eps": 0.1, "encoder": "cnn"}, "encoder"), ({"eps": 0.1, "alpha_start": 5.0, "alpha_end": 1.0}, "alpha_end"),
    ({"eps": 0.1, "seed": -1}, "seed"),
])
def test_bad_arguments(tiny_model, rand_images, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        sensitive_points(tiny_model, rand_images, **kwargs)


def test_bad_images(tiny_model):
    with pytest.raises(ValueError, match="x"):
        sensitive_points(tiny_model, np.ones((8, 8, 1), np.float32), eps=0.1)
    with pytest.raises(ValueError, match="y"):
        sensitive_points(tiny_model, np.ones((2, 8, 8, 1), np.float32), [1, 2, 3], eps=0.1)


def test_corner_points_counts_and_location():
    x = np.zeros((3, 16, 16, 1), np.float32)
    x[:, 4:12, 4:12] = 1.0  # a bright square: its four corners are the Harris maxima
    masks = corner_points(x, np.array([4, 1, 0]))
    np.testing.assert_array_equal(masks.sum(axis=(1, 2, 3)), [4, 1, 0])
    rows, cols = np.nonzero(masks[0, ..., 0])
    assert set(rows) <= {3, 4, 11, 12} and set(cols) <= {3, 4, 11, 12}
    with pytest.raises(ValueError, match="num_points"):
        corner_points(x, -1)
    with pytest.raises(ValueError, match="window"):
        corner_points(x, 2, window=2)


@pytest.mark.parametrize("encoder", ["dense", "unet"])
def test_autoadversary_encoders(tiny_model, rand_images, encoder):
    masks, info = sensitive_points(tiny_model, rand_images, eps=0.1, steps=2, attack_steps=2, encoder=encoder,
                                   return_info=True)
    assert masks.shape == (8, 8, 8, 1) and set(np.unique(masks)) <= {0.0, 1.0}
    assert info["success"].dtype == bool
