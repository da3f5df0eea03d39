"""Tests for UDDN, the U-Net noise-predicting denoiser (shape/serialization checks: test_preprocessors.py)."""

import keras
import numpy as np
import pytest

from tests.harness import images
from tfdefend.models import UDDN, create_model, model_info

TINY = {"filters": (4, 8)}


def _zero_noise_head(model):
    head = model.noise_net.get_layer("negative_noise")
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])


def test_registered_as_a_preprocessor():
    info = model_info("uddn")
    assert info["cls"] is UDDN
    assert info["kind"] == "preprocessor"
    assert tuple(info["defaults"]["input_shape"]) == (28, 28, 1)
    model = create_model("uddn")
    assert model.input_shape == model.output_shape == (None, 28, 28, 1)


@pytest.mark.parametrize("shape, filters", [((8, 8, 1), (4, 8)), ((9, 7, 3), (4, 8, 8)),
                                            ((5, 11, 2), (4,)), ((13, 10, 1), (4, 4, 4, 4))])
def test_zero_noise_head_is_the_identity(shape, filters):
    model = UDDN(shape, filters=filters)
    _zero_noise_head(model)
    x = images(3, shape)
    np.testing.assert_allclose(np.asarray(model(x, training=False)), x, atol=1e-7)
    np.testing.assert_allclose(np.asarray(model.noise(x)), 0.0, atol=1e-7)


@pytest.mark.parametrize("shape", [(8, 8, 1), (9, 7, 3)])
def test_output_is_the_input_minus_the_predicted_noise_clipped(shape):
    model = UDDN(shape, **TINY)
    head = model.noise_net.get_layer("negative_noise")  # zero at init: give it random weights
    rng = np.random.default_rng(2)
    head.set_weights([0.3 * rng.standard_normal(w.shape).astype("float32") for w in head.get_weights()])
    x = images(4, shape)
    noise = np.asarray(model.noise(x))
    assert noise.shape == x.shape
    assert np.abs(noise).max() > 1e-3
    np.testing.assert_allclose(np.asarray(model(x, training=False)), np.clip(x - noise, 0, 1), atol=1e-6)


def test_loss_is_the_weighted_l1_error():
    model = UDDN((8, 8, 1), **TINY)
    x, y = images(4), images(4, seed=1)
    y_pred = model(x, training=False)
    per_image = np.abs(np.asarray(y_pred) - y).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(float(model.compute_loss(x, y, y_pred, training=False)),
                               per_image.mean(), rtol=1e-5)
    weights = np.array([1.0, 0.0, 2.0, 0.5], dtype="float32")
    np.testing.assert_allclose(float(model.compute_loss(x, y, y_pred, weights, training=False)),
                               (per_image * weights).mean(), rtol=1e-5)
    per_image_x = np.abs(np.asarray(y_pred) - x).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(float(model.compute_loss(x, None, None, training=False)),
                               per_image_x.mean(), rtol=1e-5)


def test_fit_on_noisy_clean_pairs_learns_to_remove_the_noise():
    rng = np.random.default_rng(0)
    clean = np.clip(rng.uniform(0.2, 0.8, (64, 1, 1, 1)) + np.linspace(-0.1, 0.1, 8)[None, :, None, None]
                    + 0.02 * rng.standard_normal((64, 8, 8, 1)), 0, 1).astype("float32")
    checkerboard = np.where(np.indices((8, 8)).sum(axis=0) % 2, 0.1, -0.1)[None, :, :, None]
    noisy = np.clip(clean + checkerboard, 0, 1).astype("float32")
    model = UDDN((8, 8, 1), **TINY)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    losses = model.fit(noisy, clean, batch_size=16, epochs=8, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    denoised_error = model.evaluate(noisy, clean, batch_size=16, verbose=0)
    assert denoised_error < 0.75 * np.abs(noisy - clean).mean()


def test_untrained_uddn_is_the_identity():
    x = np.random.default_rng(1).uniform(0, 1, (2, 12, 10, 1)).astype("float32")
    model = UDDN(input_shape=(12, 10, 1), filters=(4, 8))
    np.testing.assert_allclose(np.asarray(model(x, training=False)), x, atol=1e-6)
