"""Tests of `tfdefend.attacks.mifgsm`."""

import numpy as np
import tensorflow as tf

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


# A model whose loss gradient is known in closed form: two logits [0, f(x)] with label 0, so the loss is
# softplus(f) and its gradient sigmoid(f) * grad f. f = -sum a (x - c)^2 / 2 pulls each pixel to its c
# (the ascent overshoots, so gradients flip sign and momentum matters); sigmoid(f) gives images far from
# c gradients thousands of times smaller than images near it.
_SHAPE = (6, 6, 1)
_A = np.random.default_rng(0).uniform(0.5, 20.0, (1, *_SHAPE))
_C = np.random.default_rng(1).uniform(0.2, 0.8, (1, *_SHAPE))


def _quadratic_model(t):
    f = -0.5 * tf.reduce_sum(tf.constant(_A, tf.float32) * tf.square(t - tf.constant(_C, tf.float32)),
                             axis=[1, 2, 3])
    return tf.stack([tf.zeros_like(f), f], axis=-1)


def _quadratic_gradient(x):
    f = -0.5 * np.sum(_A * (x - _C) ** 2, axis=(1, 2, 3), keepdims=True)
    return -_A * (x - _C) / (1.0 + np.exp(-f))


_NORMALISATIONS = {
    "per-sample L1 (the paper)": lambda g: g / np.abs(g).sum(axis=(1, 2, 3), keepdims=True),
    "whole-batch L1": lambda g: g / np.abs(g).sum(),
    "per-sample L2": lambda g: g / np.sqrt(np.sum(g ** 2, axis=(1, 2, 3), keepdims=True)),
    "none": lambda g: g,
}


def _reference_path(x, normalise, eps, step_size, steps, decay):
    """NumPy MI-FGSM (float64): the iterate after each step."""
    x_adv, g, path = x.astype(np.float64), np.zeros(x.shape), []
    for _ in range(steps):
        g = decay * g + normalise(_quadratic_gradient(x_adv))
        x_adv = np.clip(np.clip(x_adv + step_size * np.sign(g), x - eps, x + eps), 0.0, 1.0)
        path.append(x_adv)
    return path


def test_momentum_uses_the_per_sample_l1_normalised_gradient():
    """Step by step equal to a NumPy reference; a global-L1, L2 or missing normalisation would not be."""
    rng = np.random.default_rng(2)
    x = rng.uniform(0.0, 1.0, (16, *_SHAPE))
    x[:8] = np.clip(_C + 0.2 * (x[:8] - _C), 0.0, 1.0)  # near c: large gradients; the rest: tiny ones
    x = x.astype(np.float32)
    y = np.zeros(16, np.int32)
    scales = np.abs(_quadratic_gradient(x.astype(np.float64))).sum(axis=(1, 2, 3))
    assert scales[:8].min() > 100 * scales[8:].max()
    kw = dict(eps=0.5, step_size=0.05, decay=0.9)
    paths = {name: _reference_path(x, fn, steps=10, **kw) for name, fn in _NORMALISATIONS.items()}
    paths["decay ignored (1.0)"] = _reference_path(x, _NORMALISATIONS["per-sample L1 (the paper)"], steps=10,
                                                   **{**kw, "decay": 1.0})
    mismatch = {name: 0.0 for name in paths}
    for step in range(1, 11):
        out = mifgsm(_quadratic_model, x, y, steps=step, **kw)
        for name, path in paths.items():
            mismatch[name] = max(mismatch[name], float(np.mean(np.abs(out - path[step - 1]) > 1e-5)))
    assert mismatch.pop("per-sample L1 (the paper)") <= 2 / x.size  # at most a float32 tie or two
    assert min(mismatch.values()) > 0.05, mismatch  # every wrong variant takes a visibly different path
