"""Tests of `tfdefend.attacks.mifgsm`."""

import numpy as np

from tfdefend.attacks import bim, mifgsm


def test_eps_zero_returns_x(tiny_model, rand_images):
    np.testing.assert_array_equal(mifgsm(tiny_model, rand_images, eps=0.0), rand_images)


def test_bound_clip_and_accuracy_drop(digits_model, accuracy):
    model, x, y, clean = digits_model
    out = mifgsm(model, x, y, eps=0.2, steps=10)
    assert np.max(np.abs(out - x)) <= 0.2 + 1e-6
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert accuracy(model, out, y) <= 0.1 < clean


def test_zero_decay_equals_bim(digits_model):
    model, x, y, _ = digits_model
    a = mifgsm(model, x[:50], y[:50], eps=0.1, steps=5, decay=0.0)
    b = bim(model, x[:50], y[:50], eps=0.1, steps=5)
    assert np.mean(np.abs(a - b) > 1e-6) < 1e-3


def test_momentum_changes_the_path(digits_model):
    model, x, y, _ = digits_model
    a = mifgsm(model, x[:50], y[:50], eps=0.1, steps=5, decay=1.0)
    b = mifgsm(model, x[:50], y[:50], eps=0.1, steps=5, decay=0.0)
    assert np.mean(np.abs(a - b) > 1e-6) > 0.01
