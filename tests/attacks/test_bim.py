"""Tests of `tfdefend.attacks.bim`."""

import numpy as np
import pytest
import tensorflow as tf

from tfdefend.attacks import bim, fgsm


def test_eps_zero_returns_x(tiny_model, rand_images):
    np.testing.assert_array_equal(bim(tiny_model, rand_images, eps=0.0), rand_images)


def test_bound_clip_and_stronger_than_fgsm(digits_model, accuracy):
    model, x, y, _ = digits_model
    out = bim(model, x, y, eps=0.15, steps=10)
    assert np.max(np.abs(out - x)) <= 0.15 + 1e-6
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert accuracy(model, out, y) < accuracy(model, fgsm(model, x, y, eps=0.15), y)


def test_one_step_equals_fgsm(digits_model):
    model, x, y, _ = digits_model
    a = bim(model, x, y, eps=0.1, steps=1)
    b = fgsm(model, x, y, eps=0.1)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_targeted_hits_target(digits_model):
    model, x, y, _ = digits_model
    target = (y + 3) % 10
    out = bim(model, x, target, eps=0.3, step_size=0.05, steps=20, targeted=True)
    hit = np.mean(np.argmax(model(out, training=False), axis=1) == target)
    assert hit >= 0.8


def _saturated(model, scale=1000.0):
    """The classifier with its logits scaled up: same predictions, a softmax saturated to exactly 0/1."""
    return lambda x: scale * model(x, training=False)


def test_margin_loss_breaks_saturated_softmax_that_ce_cannot(digits_model, accuracy):
    model, x, y, _ = digits_model
    saturated = _saturated(model)
    ce = bim(saturated, x, y, eps=0.3, step_size=0.05, steps=10)
    margin = bim(saturated, x, y, eps=0.3, step_size=0.05, steps=10, loss="margin")
    # The CE gradient underflows to zero on (nearly) every image, so CE-BIM barely moves them ...
    assert accuracy(model, ce, y) >= 0.9
    # ... while the margin attack does what it does on the unscaled model (scale-invariant sign steps).
    assert accuracy(model, margin, y) <= 0.2
    plain = bim(model, x, y, eps=0.3, step_size=0.05, steps=10, loss="margin")
    assert abs(accuracy(model, margin, y) - accuracy(model, plain, y)) <= 0.02
    assert np.max(np.abs(margin - x)) <= 0.3 + 1e-6 and margin.min() >= 0.0 and margin.max() <= 1.0


def test_margin_fgsm_step_is_sign_of_logit_difference():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(16, 5)).astype(np.float32)
    model = lambda x: tf.reshape(x, (-1, 16)) @ w  # linear logits: the margin's gradient is w_j* - w_y
    x = rng.uniform(0.2, 0.8, size=(6, 4, 4, 1)).astype(np.float32)
    y = rng.integers(0, 5, size=6)
    out = bim(model, x, y, eps=0.1, steps=1, clip=None, loss="margin")
    z = x.reshape(6, 16) @ w
    z[np.arange(6), y] = -np.inf
    runner_up = np.argmax(z, axis=1)
    expected = x + 0.1 * np.sign(w[:, runner_up] - w[:, y]).T.reshape(x.shape)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_margin_targeted_hits_target(digits_model):
    model, x, y, _ = digits_model
    target = (y + 3) % 10
    out = bim(_saturated(model), x, target, eps=0.3, step_size=0.05, steps=20, targeted=True, loss="margin")
    assert np.mean(np.argmax(model(out, training=False), axis=1) == target) >= 0.8


def test_bad_loss(tiny_model, rand_images):
    with pytest.raises(ValueError, match="loss"):
        bim(tiny_model, rand_images, eps=0.1, loss="dlr")
    with pytest.raises(TypeError, match="loss"):
        bim(tiny_model, rand_images, eps=0.1, loss=None)
    np.testing.assert_array_equal(bim(tiny_model, rand_images, eps=0.0, loss="margin"), rand_images)
