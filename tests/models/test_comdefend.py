"""Tests for ComDefend and its parts (ComCNN, ResCNN)."""

import keras
import numpy as np
import pytest

from tests.harness import images
from tfdefend.data import load
from tfdefend.models import ComCNN, ComDefend, ResCNN, create_model, model_info

TINY = {"code_channels": 4, "comcnn_filters": (4, 8), "rescnn_filters": (8, 4)}


def _tiny(**kwargs):
    return ComDefend(**{"input_shape": (8, 8, 1), **TINY, **kwargs})


def test_binary_code_is_exactly_zero_or_one():
    model = _tiny()
    x = images(4)
    bits = np.asarray(model.binary_code(x))
    assert bits.shape == (4, 8, 8, 4)
    assert set(np.unique(bits)) <= {0.0, 1.0}
    code = np.asarray(model.encode(x))
    np.testing.assert_array_equal(bits, (code > 0).astype("float32"))


def test_inference_reconstructs_the_binary_code_without_noise():
    model = _tiny()
    x = images(4)
    out = np.asarray(model(x, training=False))
    np.testing.assert_allclose(out, np.asarray(model.decode(model.binary_code(x))), atol=1e-6)
    np.testing.assert_array_equal(out, np.asarray(model(x, training=False)))


def test_training_output_is_noisy():
    model = _tiny(seed=1)
    x = images(4)
    first, second = (np.asarray(model(x, training=True)) for _ in range(2))
    assert not np.allclose(first, np.asarray(model(x, training=False)))
    assert not np.allclose(first, second)


def test_zero_noise_training_uses_the_soft_code():
    model = _tiny(noise_std=0.0)
    x = images(2)
    soft = keras.ops.sigmoid(model.encode(x))
    np.testing.assert_allclose(np.asarray(model(x, training=True)), np.asarray(model.decode(soft)), atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_loss_is_mse_plus_weighted_code_penalty(training):
    model = _tiny(code_weight=0.05, seed=2)
    x = images(4)
    y_pred = model(x, training=training)
    loss = float(model.compute_loss(x, y_pred=y_pred, training=training))
    code = np.asarray(model.encode(x))
    expected = np.mean((np.asarray(y_pred) - x) ** 2) + 0.05 * np.mean(code ** 2)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    y = images(4, seed=5)
    loss_y = float(model.compute_loss(x, y, y_pred=model(x, training=False), training=False))
    expected_y = np.mean((np.asarray(model(x)) - y) ** 2) + 0.05 * np.mean(code ** 2)
    np.testing.assert_allclose(loss_y, expected_y, rtol=1e-5)


def test_evaluate_reports_the_loss_and_its_parts():
    model = _tiny(code_weight=0.05)
    model.compile(optimizer="adam", jit_compile=False)
    x = images(8)
    logs = model.evaluate(x, batch_size=8, verbose=0, return_dict=True)
    code = np.asarray(model.encode(x))
    mse = np.mean((np.asarray(model(x)) - x) ** 2)
    np.testing.assert_allclose(logs["reconstruction_loss"], mse, rtol=1e-5)
    np.testing.assert_allclose(logs["code_loss"], 0.05 * np.mean(code ** 2), rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], logs["reconstruction_loss"] + logs["code_loss"], rtol=1e-5)


def test_fit_on_digits_lowers_the_loss():
    x, _ = load("digits", "train", as_numpy=True, limit=128)
    model = ComDefend(input_shape=x.shape[1:], code_channels=4, comcnn_filters=(8, 16),
                      rescnn_filters=(16, 8), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    history = model.fit(x, batch_size=32, epochs=6, verbose=0).history
    assert history["loss"][-1] < 0.75 * history["loss"][0], history["loss"]
    assert {"reconstruction_loss", "code_loss"} <= set(history)
    # fit(x, x) trains on the same target.
    model.fit(x, x, batch_size=64, epochs=1, verbose=0)


def test_residual_encoder_has_the_blocks_and_the_same_code_shape():
    plain = _tiny()
    residual = _tiny(encoder="residual", residual_blocks=3)
    names = [layer.name for layer in residual.comcnn.layers]
    assert [n for n in names if n.endswith("_add")] == ["res1_add", "res2_add", "res3_add"]
    assert not any(n.startswith("res") for n in (layer.name for layer in plain.comcnn.layers))
    # The blocks follow the widest convolution.
    assert residual.comcnn.get_layer("res1_conv1").input.shape[-1] == 8
    x = images(2)
    assert residual.encode(x).shape == plain.encode(x).shape == (2, 8, 8, 4)
    assert residual.count_params() == plain.count_params() + 3 * 2 * (9 * 8 * 8 + 8)
    assert create_model("comdefend_residual", **TINY, input_shape=(8, 8, 1)).encoder == "residual"


def test_registry_defaults_are_the_papers():
    assert model_info("comdefend")["kind"] == "preprocessor"
    assert model_info("comdefend_residual")["cls"] is ComDefend
    model = create_model("comdefend")
    assert model.input_shape == (None, 28, 28, 1)
    enc = [layer.filters for layer in model.comcnn.layers if isinstance(layer, keras.layers.Conv2D)]
    dec = [layer.filters for layer in model.rescnn.layers if isinstance(layer, keras.layers.Conv2D)]
    assert enc == [16, 32, 64, 128, 256, 128, 64, 32, 12]
    assert dec == [32, 64, 128, 256, 128, 64, 32, 16, 1]
    assert (model.noise_std, model.code_weight) == (20.0, 1e-4)
    assert model.comcnn.get_layer("code").activation is keras.activations.linear
    assert model.rescnn.get_layer("reconstruction").activation is keras.activations.sigmoid


def test_parts_are_registered_with_their_kinds():
    assert model_info("comcnn")["cls"] is ComCNN and model_info("comcnn")["kind"] == "encoder"
    assert model_info("rescnn")["cls"] is ResCNN and model_info("rescnn")["kind"] == "decoder"


@pytest.mark.parametrize("kwargs, error, arg", [
    ({"encoder": "foo"}, ValueError, "encoder"),
    ({"encoder": None}, ValueError, "encoder"),
    ({"noise_std": -1.0}, ValueError, "noise_std"),
    ({"noise_std": float("inf")}, ValueError, "noise_std"),
    ({"noise_std": "20"}, TypeError, "noise_std"),
    ({"code_weight": -1e-4}, ValueError, "code_weight"),
    ({"code_channels": 0}, ValueError, "code_channels"),
    ({"code_channels": 2.0}, TypeError, "code_channels"),
    ({"residual_blocks": 0, "encoder": "residual"}, ValueError, "residual_blocks"),
    ({"comcnn_filters": (), "encoder": "residual"}, ValueError, "filters"),
    ({"comcnn_filters": (4, -1)}, ValueError, "filters"),
    ({"rescnn_filters": 8}, TypeError, "filters"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"input_shape": (8, 8)}, ValueError, "input_shape"),
    ({"input_shape": (8, 0, 1)}, ValueError, "input_shape"),
    ({"input_shape": "8x8"}, TypeError, "input_shape"),
    ({"num_classes": 10}, TypeError, "num_classes"),
])
def test_bad_args(kwargs, error, arg):
    with pytest.raises(error, match=arg):
        _tiny(**kwargs)


def test_residual_blocks_can_follow_a_narrow_convolution():
    from tfdefend.models import ComCNN

    narrow = ComCNN((8, 8, 1), code_channels=4, filters=(4, 8, 16), encoder="residual",
                    residual_blocks=1, residual_after=1)
    assert narrow.get_layer("res1_conv1").filters == 4
    assert ComCNN.from_config(narrow.get_config()).residual_after == 1
    with pytest.raises(ValueError, match="residual_after"):
        ComCNN((8, 8, 1), filters=(4, 8), encoder="residual", residual_after=3)


def test_differentiable_approximation_matches_forward_and_has_gradient():
    import tensorflow as tf

    model = ComDefend((8, 8, 1), code_channels=4, comcnn_filters=(8,), rescnn_filters=(8,), seed=0)
    x = tf.constant(np.random.default_rng(0).uniform(size=(3, 8, 8, 1)).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        approx = model.differentiable_approximation(x)
        exact = model(x, training=False)
    np.testing.assert_allclose(approx, exact, atol=1e-6)
    assert float(tf.reduce_sum(tf.abs(tape.gradient(approx, x)))) > 0
    assert float(tf.reduce_sum(tf.abs(tape.gradient(exact, x, unconnected_gradients="zero")))) == 0


def test_straight_through_forward_is_the_hard_binarization():
    model = _tiny(quantizer="straight_through", noise_std=0.0)
    x = images(4)
    np.testing.assert_array_equal(np.asarray(model(x, training=True)), np.asarray(model(x, training=False)))
    code = model.encode(x)
    np.testing.assert_array_equal(np.asarray(model.binarizer(code, training=True)),
                                  np.asarray(model.binary_code(x)))


def test_straight_through_noisy_bits_are_binary_and_pass_gradients():
    import tensorflow as tf

    model = _tiny(quantizer="straight_through", noise_std=2.0, seed=3)
    x = tf.constant(images(4))
    with tf.GradientTape() as tape:
        bits = model.binarizer(model.comcnn(x), training=True)
        loss = tf.reduce_mean(model.rescnn(bits))
    assert set(np.unique(np.asarray(bits))) <= {0.0, 1.0}
    grads = tape.gradient(loss, model.comcnn.trainable_variables)
    assert all(g is not None for g in grads) and sum(float(tf.reduce_sum(tf.abs(g))) for g in grads) > 0


def _train_bit_agreement(quantizer, noise_std):
    x, _ = load("digits", "train", as_numpy=True, limit=256)
    keras.utils.set_random_seed(0)
    model = ComDefend(input_shape=x.shape[1:], code_channels=4, comcnn_filters=(8, 16), rescnn_filters=(16, 8),
                      quantizer=quantizer, noise_std=noise_std, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), jit_compile=False)
    history = model.fit(x, x, batch_size=32, epochs=8, verbose=0).history
    code = model.encode(x)
    train_bits = np.round(np.asarray(model.binarizer(code, training=True)))
    return np.mean(train_bits == np.asarray(model.binary_code(x))), history["loss"]


def test_straight_through_training_and_inference_bits_agree_after_training():
    agreement, losses = _train_bit_agreement("straight_through", 1.0)
    assert losses[-1] < 0.75 * losses[0], losses
    assert agreement >= 0.8, agreement  # 0.87 measured; the paper's quantizer: 0.63
    paper_agreement, _ = _train_bit_agreement("noisy_sigmoid", 20.0)
    assert agreement > paper_agreement + 0.2, (agreement, paper_agreement)


def test_quantizer_serializes_and_bad_values_are_refused():
    model = _tiny(quantizer="straight_through", noise_std=3.0)
    clone = ComDefend.from_config(model.get_config())
    assert (clone.quantizer, clone.noise_std, clone.binarizer.quantizer) == ("straight_through", 3.0,
                                                                             "straight_through")
    assert _tiny().quantizer == "noisy_sigmoid"
    with pytest.raises(ValueError, match="quantizer"):
        _tiny(quantizer="ste")
    with pytest.raises(TypeError, match="quantizer"):
        _tiny(quantizer=1)
