"""The shared harness of image-to-image models, and the parameter-free baselines.

Parametrized over `list_models(kind="preprocessor")` (images in [0, 1] ->
images of the same shape in [0, 1]); the serialization checks also run over
the "encoder" and "decoder" models. A newly registered preprocessor joins
automatically (give it tiny overrides in `tests/harness.py` if its defaults are large).
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.harness import images, perturb_weights, run_model_test, run_saving_test, tiny_model
from tfdefend.models import (
    BitDepthReduction,
    JPEGCompression,
    MedianSmoothing,
    list_models,
)

PREPROCESSORS = list_models(kind="preprocessor")
IMAGE_MODELS = PREPROCESSORS + list_models(kind="encoder") + list_models(kind="decoder")
LEARNED = ["comdefend", "comdefend_residual", "dae", "uddn"]

BAD_ARGS = [
    ("jpeg", {"quality": 0}, ValueError, "quality"),
    ("jpeg", {"quality": 101}, ValueError, "quality"),
    ("jpeg", {"quality": 75.0}, TypeError, "quality"),
    ("bit_depth", {"bits": 0}, ValueError, "bits"),
    ("bit_depth", {"bits": 9}, ValueError, "bits"),
    ("bit_depth", {"bits": "4"}, TypeError, "bits"),
    ("median", {"size": 0}, ValueError, "size"),
    ("median", {"size": 2.0}, TypeError, "size"),
    ("dae", {"filters": ()}, ValueError, "filters"),
    ("dae", {"filters": (4, 0)}, ValueError, "filters"),
    ("dae", {"noise_std": -0.1}, ValueError, "noise_std"),
    ("dae", {"seed": -1}, ValueError, "seed"),
    ("dae", {"input_shape": (8, 8)}, ValueError, "input_shape"),
    ("dae", {"no_such_arg": 1}, TypeError, "no_such_arg"),
    ("uddn", {"filters": ()}, ValueError, "filters"),
    ("uddn", {"filters": (4, 0)}, ValueError, "filters"),
    ("uddn", {"filters": 8}, TypeError, "filters"),
    ("uddn", {"input_shape": (8, 8)}, ValueError, "input_shape"),
    ("uddn", {"input_shape": (8, 0, 1)}, ValueError, "input_shape"),
    ("uddn", {"no_such_arg": 1}, TypeError, "no_such_arg"),
    ("light_denoiser", {"depth": 1}, ValueError, "depth"),
    ("dncnn", {"depth": 2}, ValueError, "depth"),
    ("rl_denoiser_chain", {"tool_execution": "x"}, ValueError, "tool_execution"),
]


def _predict(model, x):
    return np.asarray(model(x, training=False))


def _input_shape(model):
    shape = model.get_config().get("input_shape", (8, 8, 1))
    return tuple(shape)


def test_every_preprocessor_is_tested():
    assert {"comdefend", "comdefend_residual", "dae", "jpeg", "bit_depth", "median", "uddn"} <= set(PREPROCESSORS)
    assert {name for name, *_ in BAD_ARGS} | set(LEARNED) >= set(PREPROCESSORS)


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_tiny_model_is_small(name):
    model = tiny_model(name)
    assert model.count_params() < 50_000, f"add an entry for {name} to TINY_OVERRIDES in tests/harness.py"


@pytest.mark.parametrize("name", PREPROCESSORS)
@pytest.mark.parametrize("shape", [(8, 8, 1), (9, 7, 3)])
def test_outputs_images_of_the_input_shape(name, shape):
    x = images(4, shape)
    _, out = run_model_test(tiny_model, {"name": name, "input_shape": shape}, x, x.shape, "float32")
    assert np.all(out >= 0.0) and np.all(out <= 1.0)


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_config_round_trip(name):
    model = tiny_model(name, input_shape=(8, 8, 1))
    config = model.get_config()
    json.dumps(config)
    clone = type(model).from_config(config)
    assert type(clone) is type(model)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()
    perturb_weights(model)
    clone.set_weights(model.get_weights())
    x = images(3, _input_shape(model))
    np.testing.assert_allclose(_predict(clone, x), _predict(model, x), atol=1e-6)


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_keras_save_and_load(name, tmp_path):
    model = tiny_model(name, input_shape=(8, 8, 1))
    perturb_weights(model)
    run_saving_test(model, images(3, _input_shape(model)), tmp_path, atol=1e-6)


@pytest.mark.parametrize("name, kwargs, error, arg", BAD_ARGS)
def test_bad_args(name, kwargs, error, arg):
    with pytest.raises(error, match=arg):
        tiny_model(name, **kwargs)


def test_dae_fit_lowers_the_loss():
    x = np.clip(np.linspace(0, 1, 8)[None, :, None, None] * np.ones((64, 8, 8, 1))
                + 0.05 * np.random.default_rng(0).standard_normal((64, 8, 8, 1)), 0, 1).astype("float32")
    model = tiny_model("dae", input_shape=(8, 8, 1), seed=3)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    losses = model.fit(x, batch_size=16, epochs=8, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses


def test_dae_noise_only_in_training():
    model = tiny_model("dae", input_shape=(8, 8, 1), noise_std=0.5)
    x = images(2, (8, 8, 1))
    np.testing.assert_array_equal(_predict(model, x), _predict(model, x))
    assert not np.allclose(np.asarray(model(x, training=True)), _predict(model, x))


@pytest.mark.parametrize("bits", [1, 4, 8])
def test_bit_depth_output_is_on_the_grid(bits):
    levels = 2 ** bits - 1
    x = images(2, (8, 8, 3))
    out = _predict(BitDepthReduction(bits), x)
    np.testing.assert_allclose(out * levels, np.round(out * levels), atol=1e-5)
    assert np.abs(out - x).max() <= 0.5 / levels + 1e-6
    assert len(np.unique(out)) <= levels + 1


def test_median_of_a_constant_image_is_the_image():
    x = np.full((2, 7, 6, 3), 0.3, dtype="float32")
    for size in (2, 3):
        np.testing.assert_allclose(_predict(MedianSmoothing(size), x), x, atol=1e-7)


@pytest.mark.parametrize("size", [2, 3])
def test_median_removes_a_salt_pixel(size):
    x = np.full((1, 6, 6, 2), 0.2, dtype="float32")
    x[0, 3, 2, 0] = 1.0
    np.testing.assert_allclose(_predict(MedianSmoothing(size), x), np.full_like(x, 0.2), atol=1e-7)


def test_median_matches_a_sorted_window_reference():
    x = images(1, (5, 4, 1))
    out = _predict(MedianSmoothing(3), x)[0, ..., 0]
    padded = np.pad(x[0, ..., 0], 1, mode="symmetric")
    expected = np.array([[np.median(padded[i:i + 3, j:j + 3]) for j in range(4)] for i in range(5)])
    np.testing.assert_allclose(out, expected, atol=1e-6)


def _psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((a - b) ** 2))


@pytest.mark.parametrize("channels", [1, 3])
def test_jpeg_changes_a_smooth_image_but_keeps_it_close(channels):
    ramp = np.linspace(0.1, 0.9, 16, dtype="float32")
    x = np.broadcast_to((ramp[:, None] + ramp[None, :])[None, :, :, None] / 2,
                        (3, 16, 16, channels)).copy()
    x[..., :] += np.random.default_rng(0).uniform(-0.05, 0.05, x.shape).astype("float32")
    x = np.clip(x, 0, 1)
    out = _predict(JPEGCompression(75), x)
    assert not np.allclose(out, x, atol=1e-3)
    assert _psnr(out, x) > 20


def test_jpeg_works_in_a_tf_function_on_any_batch_size():
    model = JPEGCompression(50)
    run = tf.function(lambda images: model(images),
                      input_signature=[tf.TensorSpec((None, 8, 8, 1), tf.float32)])
    for n in (1, 5):
        x = images(n, (8, 8, 1))
        np.testing.assert_allclose(run(tf.constant(x)).numpy(), _predict(model, x), atol=1e-6)


def test_jpeg_refuses_two_channels():
    with pytest.raises(ValueError, match="1 or 3 channels"):
        JPEGCompression()(images(1, (8, 8, 2)))


@pytest.mark.parametrize("cls", [JPEGCompression, BitDepthReduction])
def test_non_differentiable_defenses_have_no_gradient(cls):
    model = cls()
    x = tf.constant(images(2, (8, 8, 1)))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = tf.reduce_sum(model(x))
    assert tape.gradient(out, x) is None


def test_median_is_differentiable():
    x = tf.constant(images(2, (8, 8, 1)))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = tf.reduce_sum(MedianSmoothing(3)(x))
    assert float(tf.reduce_sum(tape.gradient(out, x))) > 0
