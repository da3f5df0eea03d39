"""Tests of `tfdefend.attacks.fgsm`."""

import keras
import numpy as np
import tensorflow as tf

from tfdefend.attacks import fgsm


def _ce_gradient(model, x, y):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(
            y, model(xt, training=False), from_logits=True))
    return tape.gradient(loss, xt).numpy()


def test_eps_zero_returns_x(tiny_model, rand_images):
    out = fgsm(tiny_model, rand_images, eps=0.0)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, rand_images)


def test_matches_closed_form(digits_model):
    model, x, y, _ = digits_model
    eps = 0.1
    g = _ce_gradient(model, x, y)
    expected = np.clip(x + eps * np.sign(g), 0.0, 1.0)
    out = fgsm(model, x, y, eps=eps)
    # Identical up to float32 rounding; signs may only differ where |grad| is ~0.
    mismatch = np.abs(out - expected) > 1e-6
    assert mismatch.mean() < 1e-3
    assert np.all(np.abs(g[mismatch]) < 1e-6)


def test_targeted_closed_form(digits_model):
    model, x, y, _ = digits_model
    target = (y + 1) % 10
    g = _ce_gradient(model, x, target)
    expected = np.clip(x - 0.1 * np.sign(g), 0.0, 1.0)
    out = fgsm(model, x, target, eps=0.1, targeted=True)
    assert np.mean(np.abs(out - expected) > 1e-6) < 1e-3


def test_linf_bound_clip_and_accuracy_drop(digits_model, accuracy):
    model, x, y, clean = digits_model
    out = fgsm(model, x, y, eps=0.2)
    assert out.shape == x.shape and out.dtype == np.float32
    assert np.max(np.abs(out - x)) <= 0.2 + 1e-6
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert accuracy(model, out, y) < 0.3 < clean


def test_l2_variant(digits_model, accuracy):
    model, x, y, _ = digits_model
    out = fgsm(model, x, y, eps=1.0, norm=2)
    l2 = np.sqrt(np.sum((out.astype(np.float64) - x) ** 2, axis=(1, 2, 3)))
    assert np.all(l2 <= 1.0)
    assert np.median(l2) > 0.5  # a real step was taken (clipping removes only part of it)
    assert accuracy(model, out, y) < 0.5


def test_tensor_in_tensor_out(tiny_model, rand_images):
    out = fgsm(tiny_model, tf.constant(rand_images), eps=0.05)
    assert isinstance(out, tf.Tensor) and out.dtype == tf.float32
    assert out.shape == rand_images.shape


def test_unbounded_clip(tiny_model, rand_images):
    x = rand_images * 4 - 2
    out = fgsm(tiny_model, x, eps=0.5, clip=None)
    np.testing.assert_allclose(np.abs(out - x)[np.abs(out - x) > 0], 0.5, atol=1e-6)


def test_gradient_free_front_end_gives_zero_step(tiny_model, rand_images):
    """A model whose output ignores x's gradient (e.g. JPEG in front) is not an error: FGSM moves nothing."""
    from tfdefend.attacks import pgd

    def shattered(x):
        return tiny_model(tf.stop_gradient(x))

    np.testing.assert_array_equal(fgsm(shattered, rand_images, eps=0.1), rand_images)
    np.testing.assert_array_equal(pgd(shattered, rand_images, eps=0.1, step_size=0.02, steps=3), rand_images)
