"""Tests of `tfdefend.attacks.bim`."""

import numpy as np

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
