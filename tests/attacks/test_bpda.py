"""Tests of `tfdefend.attacks.bpda`: it breaks a gradient-masking front end."""

import numpy as np
import pytest
import tensorflow as tf

from tfdefend.attacks import BPDAModel, bpda, pgd


def quantize(x):
    """A non-differentiable defense: 3-bit quantization (gradient is None)."""
    return tf.stop_gradient(tf.round(x * 7.0) / 7.0)


def _accuracy(model, x, y):
    return float(np.mean(np.argmax(np.asarray(model(x)), axis=1) == y))


def test_bpda_breaks_what_plain_gradients_cannot(digits_model):
    model, x, y, _ = digits_model
    x, y = x[:100], y[:100]

    def defended(batch):
        return model(quantize(batch), training=False)

    clean = _accuracy(defended, x, y)
    naive = pgd(defended, x, y, eps=0.2, step_size=0.05, steps=10)
    adaptive = pgd(bpda(preprocessor=quantize, classifier=model), x, y, eps=0.2, step_size=0.05, steps=10)
    assert np.abs(adaptive - x).max() <= 0.2 + 1e-6
    assert clean > 0.85
    assert _accuracy(defended, naive, y) > clean - 0.05  # masked gradients: the naive attack is stuck
    assert _accuracy(defended, adaptive, y) < 0.3  # BPDA gets through


def test_forward_value_is_the_real_defense(digits_model):
    model, x, _, _ = digits_model
    wrapped = BPDAModel(quantize, model)
    np.testing.assert_allclose(wrapped(x[:8]), model(quantize(x[:8])), atol=1e-6)
    xt = tf.constant(x[:8])
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = tf.reduce_sum(wrapped.purify(xt))
    np.testing.assert_allclose(tape.gradient(out, xt), np.ones_like(x[:8]))  # identity backward


def test_custom_approximation_gradient(digits_model):
    model, x, _, _ = digits_model
    wrapped = bpda(preprocessor=quantize, classifier=model, approximation=lambda v: 0.5 * v)
    xt = tf.constant(x[:4])
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = tf.reduce_sum(wrapped.purify(xt))
    np.testing.assert_allclose(tape.gradient(out, xt), np.full_like(x[:4], 0.5))


def test_bad_arguments(digits_model):
    model = digits_model[0]
    with pytest.raises(ValueError, match="preprocessor"):
        bpda(classifier=model)
    with pytest.raises(TypeError, match="preprocessor.*classifier"):
        bpda(model)
    with pytest.raises(TypeError, match="approximation"):
        bpda(preprocessor=quantize, classifier=model, approximation=3)
    with pytest.raises(ValueError, match="not both"):
        bpda(BPDAModel(quantize, model), classifier=model)


def test_approximation_defaults_to_the_preprocessors_own(digits_model):
    class Quantizer:
        def __call__(self, x):
            return quantize(x)

        def differentiable_approximation(self, x):
            return 2.0 * x

    model = digits_model[0]
    pre = Quantizer()
    assert bpda(preprocessor=pre, classifier=model).approximation == pre.differentiable_approximation
    assert bpda(preprocessor=pre, classifier=model, approximation="identity").approximation is None
    with pytest.raises(ValueError, match="identity"):
        bpda(preprocessor=pre, classifier=model, approximation="soft")


def test_forward_model_gives_the_same_logits_without_the_approximation(digits_model):
    import numpy as np
    import tensorflow as tf

    from tfdefend.attacks import auto_attack, bpda

    model, x, y, _ = digits_model
    calls = []

    def approximation(images):
        calls.append(1)
        return images

    wrapped = bpda(preprocessor=lambda images: tf.round(images * 7.0) / 7.0, classifier=model,
                   approximation=approximation)
    np.testing.assert_allclose(np.asarray(wrapped.forward_model(x[:8])), np.asarray(wrapped(x[:8])), atol=1e-5)
    before = len(calls)
    wrapped.forward_model(x[:8])
    assert len(calls) == before  # the approximation is not computed on the forward-only path
    _, report = auto_attack(wrapped, x[:16], y[:16], eps=0.3, steps=5, queries=10)
    assert report["robust_accuracy"] <= report["clean_accuracy"]
