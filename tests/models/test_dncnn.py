"""Tests for DnCNN (shape/serialization harness: test_preprocessors.py)."""

import keras
import numpy as np
import pytest

from tests.harness import images, perturb_weights, run_saving_test
from tfdefend.models import DnCNN, create_model, model_info


def _trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def _params(depth, filters, channels):
    """First conv (bias), (depth - 2) x (conv without bias + batch norm: 2 trainable, 2 moving), last conv."""
    return 9 * channels * filters + filters + (depth - 2) * (9 * filters * filters + 4 * filters) \
        + 9 * filters * channels


def test_registered_as_a_preprocessor():
    info = model_info("dncnn")
    assert info["cls"] is DnCNN
    assert info["kind"] == "preprocessor"
    model = create_model("dncnn")
    assert model.input_shape == model.output_shape == (None, 28, 28, 1)
    assert (model.depth, model.filters) == (17, 64)


def test_layout_is_conv_relu_then_conv_bn_relu_then_conv():
    model = DnCNN((8, 8, 2), depth=5, filters=4)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(convs) == 5 and len(norms) == 3
    assert [c.use_bias for c in convs] == [True, False, False, False, False]
    assert [c.filters for c in convs] == [4, 4, 4, 4, 2]
    assert model.count_params() == _params(5, 4, 2)


def test_parameter_count_at_224x224x3():
    """The cost table's figures; parameters do not depend on height and width.

    Depth 17 (the paper's non-blind DnCNN-S): 560,320 parameters, 558,400
    trainable. The 6.69e5 of the seed's table (RL-Restore's comparison) is
    the 20-layer blind DnCNN-B: 669,376 trainable.
    """
    model = DnCNN((224, 224, 3))
    assert model.count_params() == _params(17, 64, 3) == 560_320
    assert _trainable(model) == 558_400
    blind = DnCNN((224, 224, 3), depth=20)
    assert _trainable(blind) == 669_376
    assert abs(_trainable(blind) - 6.69e5) / 6.69e5 < 0.001
    assert DnCNN((32, 16, 3), depth=20).count_params() == blind.count_params()


@pytest.mark.parametrize("shape", [(8, 8, 1), (9, 7, 3)])
def test_untrained_dncnn_is_the_identity(shape):
    model = DnCNN(shape, depth=4, filters=4)
    x = images(3, shape)
    np.testing.assert_allclose(np.asarray(model(x, training=False)), x, atol=1e-7)


def test_output_is_the_input_minus_the_predicted_noise_clipped():
    model = DnCNN((8, 8, 1), depth=4, filters=4)
    layer = model.get_layer("noise")
    rng = np.random.default_rng(3)
    layer.set_weights([0.3 * rng.standard_normal(w.shape).astype("float32") for w in layer.get_weights()])
    noise_net = keras.Model(model.input, layer.output)
    x = images(4)
    noise = np.asarray(noise_net(x, training=False))
    assert np.abs(noise).max() > 1e-2
    np.testing.assert_allclose(np.asarray(model(x, training=False)), np.clip(x - noise, 0, 1), atol=1e-6)


def test_loss_is_the_squared_error_to_the_target():
    model = DnCNN((8, 8, 1), depth=3, filters=4)
    x, y = images(4), images(4, seed=1)
    y_pred = model(x, training=False)
    expected = ((np.asarray(y_pred) - y) ** 2).mean()
    np.testing.assert_allclose(float(model.compute_loss(x, y, y_pred, training=False)), expected, rtol=1e-5)
    np.testing.assert_allclose(float(model.compute_loss(x, None, None, training=False)), 0.0, atol=1e-7)


def test_fit_on_noisy_clean_pairs_lowers_the_loss():
    rng = np.random.default_rng(0)
    clean = np.clip(rng.uniform(0.2, 0.8, (64, 1, 1, 1)) + np.linspace(-0.1, 0.1, 8)[None, :, None, None]
                    * np.ones((1, 1, 8, 1)), 0, 1).astype("float32")
    noisy = np.clip(clean + 0.1 * rng.choice([-1.0, 1.0], clean.shape), 0, 1).astype("float32")
    model = DnCNN((8, 8, 1), depth=4, filters=8)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    losses = model.fit(noisy, clean, batch_size=16, epochs=8, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses


def test_keras_save_and_load(tmp_path):
    model = DnCNN((8, 8, 1), depth=4, filters=4)
    perturb_weights(model, scale=0.1)
    reloaded = run_saving_test(model, images(3), tmp_path)
    assert type(reloaded) is DnCNN


@pytest.mark.parametrize("kwargs, error, arg", [
    ({"depth": 2}, ValueError, "depth"),
    ({"depth": "17"}, TypeError, "depth"),
    ({"filters": 0}, ValueError, "filters"),
    ({"input_shape": (8, 0, 1)}, ValueError, "input_shape"),
    ({"no_such_arg": 1}, TypeError, "no_such_arg"),
])
def test_bad_args(kwargs, error, arg):
    with pytest.raises(error, match=arg):
        DnCNN(**{"input_shape": (8, 8, 1), "depth": 3, "filters": 4, **kwargs})
