"""Tests for LightDenoiser, a tool of the RL chain (shape/serialization harness: test_preprocessors.py)."""

import keras
import numpy as np
import pytest

from tests.harness import images, run_saving_test
from tfdefend.models import LightDenoiser, create_model, model_info


def _randomize_correction(model, scale=0.3, seed=2):
    layer = model.get_layer("correction")  # zero at init
    rng = np.random.default_rng(seed)
    layer.set_weights([scale * rng.standard_normal(w.shape).astype("float32") for w in layer.get_weights()])


def test_registered_as_a_preprocessor():
    info = model_info("light_denoiser")
    assert info["cls"] is LightDenoiser
    assert info["kind"] == "preprocessor"
    model = create_model("light_denoiser")
    assert model.input_shape == model.output_shape == (None, 28, 28, 1)
    assert (model.depth, model.filters, model.kernel_size) == (3, 32, 3)


@pytest.mark.parametrize("depth", [2, 3, 8])
def test_depth_counts_the_convolutions(depth):
    model = LightDenoiser((8, 8, 3), depth=depth, filters=4)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == depth
    assert [c.filters for c in convs] == [4] * (depth - 1) + [3]
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    # 3x3 kernels with biases: 3->4, (depth-2) x 4->4, 4->3.
    assert model.count_params() == (9 * 3 * 4 + 4) + (depth - 2) * (9 * 4 * 4 + 4) + (9 * 4 * 3 + 3)


@pytest.mark.parametrize("shape, depth", [((8, 8, 1), 2), ((9, 7, 3), 3), ((12, 10, 1), 8)])
def test_untrained_tool_is_the_identity(shape, depth):
    model = LightDenoiser(shape, depth=depth, filters=4)
    x = images(3, shape)
    np.testing.assert_allclose(np.asarray(model(x, training=False)), x, atol=1e-7)


def test_output_is_the_input_plus_the_correction_clipped():
    model = LightDenoiser((8, 8, 2), depth=3, filters=4)
    _randomize_correction(model)
    correction = keras.Model(model.input, model.get_layer("correction").output)
    x = images(4, (8, 8, 2))
    delta = np.asarray(correction(x))
    assert np.abs(delta).max() > 0.1
    expected = np.clip(x + delta, 0, 1)
    assert (expected == 0).any() and (expected == 1).any()  # the clip is exercised
    np.testing.assert_allclose(np.asarray(model(x, training=False)), expected, atol=1e-6)


def test_loss_is_the_weighted_squared_error():
    model = LightDenoiser((8, 8, 1), depth=2, filters=4)
    _randomize_correction(model)
    x, y = images(4), images(4, seed=1)
    y_pred = model(x, training=False)
    per_image = ((np.asarray(y_pred) - y) ** 2).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(float(model.compute_loss(x, y, y_pred, training=False)), per_image.mean(),
                               rtol=1e-5)
    weights = np.array([1.0, 0.0, 2.0, 0.5], dtype="float32")
    np.testing.assert_allclose(float(model.compute_loss(x, y, y_pred, weights, training=False)),
                               (per_image * weights).mean(), rtol=1e-5)
    per_image_x = ((np.asarray(y_pred) - x) ** 2).mean(axis=(1, 2, 3))
    np.testing.assert_allclose(float(model.compute_loss(x, None, None, training=False)), per_image_x.mean(),
                               rtol=1e-5)


def test_fit_on_noisy_clean_pairs_lowers_the_loss():
    rng = np.random.default_rng(0)
    clean = np.clip(rng.uniform(0.2, 0.8, (64, 1, 1, 1)) + np.linspace(-0.1, 0.1, 8)[None, :, None, None]
                    + 0.02 * rng.standard_normal((64, 8, 8, 1)), 0, 1).astype("float32")
    checkerboard = np.where(np.indices((8, 8)).sum(axis=0) % 2, 0.1, -0.1)[None, :, :, None]
    noisy = np.clip(clean + checkerboard, 0, 1).astype("float32")
    model = LightDenoiser((8, 8, 1), depth=3, filters=8)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    before = model.evaluate(noisy, clean, batch_size=16, verbose=0)
    np.testing.assert_allclose(before, ((noisy - clean) ** 2).mean(), rtol=1e-4)  # identity at init
    model.fit(noisy, clean, batch_size=16, epochs=8, verbose=0)
    assert model.evaluate(noisy, clean, batch_size=16, verbose=0) < 0.5 * before


def test_keras_save_and_load(tmp_path):
    model = LightDenoiser((8, 8, 1), depth=3, filters=4, name="tool")
    _randomize_correction(model)
    reloaded = run_saving_test(model, images(3), tmp_path, outputs=lambda m, x: m(x))
    assert type(reloaded) is LightDenoiser and reloaded.name == "tool"


@pytest.mark.parametrize("kwargs, error, arg", [
    ({"depth": 1}, ValueError, "depth"),
    ({"depth": 3.0}, TypeError, "depth"),
    ({"filters": 0}, ValueError, "filters"),
    ({"kernel_size": 0}, ValueError, "kernel_size"),
    ({"input_shape": (8, 8)}, ValueError, "input_shape"),
    ({"no_such_arg": 1}, TypeError, "no_such_arg"),
])
def test_bad_args(kwargs, error, arg):
    with pytest.raises(error, match=arg):
        LightDenoiser(**{"input_shape": (8, 8, 1), **kwargs})
