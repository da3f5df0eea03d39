"""Tests of `tfdefend.attacks.eot`."""

import numpy as np
import pytest
import tensorflow as tf

from tfdefend.attacks import eot, pgd


def test_deterministic_model_is_unchanged(digits_model):
    model, x, _, _ = digits_model
    logits = np.asarray(model(x[:8]))
    np.testing.assert_allclose(eot(model, samples=4, reduce="logits")(x[:8]), logits, atol=1e-5)
    log_probs = np.asarray(tf.nn.log_softmax(logits))
    np.testing.assert_allclose(eot(model, samples=3)(x[:8]), log_probs, atol=1e-4)


def test_averaging_reduces_the_variance_of_a_random_model(digits_model):
    model, x, _, _ = digits_model

    def noisy(batch):
        return model(batch + tf.random.normal(tf.shape(batch), stddev=0.3), training=False)

    single = np.stack([np.asarray(eot(noisy, samples=1, reduce="logits")(x[:16])) for _ in range(6)])
    averaged = np.stack([np.asarray(eot(noisy, samples=32, reduce="logits")(x[:16])) for _ in range(6)])
    assert averaged.std(axis=0).mean() < 0.4 * single.std(axis=0).mean()


def test_eot_attack_on_randomized_defense(digits_model):
    model, x, y, _ = digits_model
    x, y = x[:64], y[:64]

    def noisy(batch):
        return model(batch + tf.random.uniform(tf.shape(batch), -0.1, 0.1), training=False)

    expected = eot(noisy, samples=16)
    x_adv = pgd(expected, x, y, eps=0.2, step_size=0.05, steps=10)
    assert np.abs(x_adv - x).max() <= 0.2 + 1e-6
    assert float(np.mean(np.argmax(np.asarray(expected(x_adv)), 1) == y)) < 0.2


def test_bad_arguments(digits_model):
    with pytest.raises(ValueError, match="reduce"):
        eot(digits_model[0], reduce="median")
    with pytest.raises(ValueError, match="samples"):
        eot(digits_model[0], samples=0)
    with pytest.raises(TypeError, match="model"):
        eot("not a model")
