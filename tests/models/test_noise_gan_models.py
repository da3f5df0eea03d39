"""Tests for GNR's noise generator and Wasserstein critic."""

import json

import numpy as np
import pytest
import tensorflow as tf

from tests.harness import images, perturb_weights, run_saving_test
from tfdefend.models import NoiseCritic, NoiseGenerator, create_model, model_info

TINY_GENERATOR = {"latent_dim": 8, "filters": (8, 4)}
TINY_CRITIC = {"filters": (4, 8)}


def _latent(n, dim=8, seed=0):
    return np.random.default_rng(seed).standard_normal((n, dim)).astype("float32")


def _generator(shape=(8, 8, 1), **kwargs):
    return NoiseGenerator(shape, **{**TINY_GENERATOR, **kwargs})


def _critic(shape=(8, 8, 1), **kwargs):
    return NoiseCritic(shape, **{**TINY_CRITIC, **kwargs})


def _pairs():
    """(model, input) for each model, tiny, with non-default weights."""
    return [(_generator(), _latent(3)), (_critic(), images(3))]


@pytest.mark.parametrize("name, kind, cls, key", [
    ("gnr_generator", "generator", NoiseGenerator, "output_shape"),
    ("gnr_critic", "critic", NoiseCritic, "input_shape"),
])
def test_registered_with_their_kinds(name, kind, cls, key):
    info = model_info(name)
    assert info["cls"] is cls and info["kind"] == kind
    assert tuple(info["defaults"][key]) == (28, 28, 1)
    assert isinstance(create_model(name), cls)


def test_default_generator_makes_28x28_noise():
    model = create_model("gnr_generator")
    assert model.input_shape == (None, 64)
    assert model.output_shape == (None, 28, 28, 1)
    assert model.inputs[0].name == "latent"


@pytest.mark.parametrize("shape, filters", [((8, 8, 1), (8, 4)), ((9, 7, 3), (8, 4)),
                                            ((13, 5, 2), (4,)), ((16, 16, 1), (8, 8, 4))])
@pytest.mark.parametrize("eps", [0.03, 0.3])
def test_generator_noise_has_the_shape_and_lies_in_the_eps_ball(shape, filters, eps):
    model = NoiseGenerator(shape, latent_dim=8, filters=filters, eps=eps)
    assert (model.latent_dim, model.noise_shape, model.eps) == (8, shape, eps)
    for n in (1, 5):
        out = np.asarray(model(_latent(n), training=False))
        assert out.shape == (n, *shape) and out.dtype == np.float32
        assert np.abs(out).max() <= eps + 1e-7
        assert np.abs(out).max() > 0
    # Saturated output layer: the bound still holds, and it is reached.
    head = model.get_layer("noise")
    kernel, bias = head.get_weights()
    for sign in (1.0, -1.0):
        head.set_weights([kernel, np.full_like(bias, sign * 100.0)])
        out = np.asarray(model(_latent(4, seed=2), training=True))
        np.testing.assert_allclose(out, sign * eps, rtol=1e-5)


def test_generator_differs_across_latents():
    out = np.asarray(_generator()(_latent(2), training=False))
    assert not np.allclose(out[0], out[1])


@pytest.mark.parametrize("shape", [(8, 8, 1), (9, 7, 3), (5, 5, 1)])
def test_critic_gives_one_unbounded_score_per_image(shape):
    model = _critic(shape)
    x = images(4, shape)
    out = np.asarray(model(x, training=False))
    assert out.shape == (4, 1) and out.dtype == np.float32
    score = model.get_layer("score")
    kernel, bias = score.get_weights()
    for offset in (50.0, -50.0):
        score.set_weights([kernel, bias + offset])
        shifted = np.asarray(model(x, training=False))
        np.testing.assert_allclose(shifted, out + offset, rtol=1e-5)


@pytest.mark.parametrize("normalization", ["layer", "none"])
def test_critic_scores_each_sample_independently_in_training(normalization):
    model = _critic(normalization=normalization)
    x = images(6)
    batch = np.asarray(model(x, training=True))
    alone = np.concatenate([np.asarray(model(x[i:i + 1], training=True)) for i in range(6)])
    np.testing.assert_allclose(batch, alone, atol=1e-5)


def test_critic_input_gradient_is_per_sample():
    """The WGAN-GP penalty needs d score_i / d x_i, untouched by the other samples."""
    model = _critic()
    x = tf.constant(images(4))
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = model(x, training=True)
    grads = tape.gradient(scores, x).numpy()
    assert np.all(np.linalg.norm(grads.reshape(4, -1), axis=1) > 0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        first = model(x, training=True)[0]
    np.testing.assert_allclose(tape.gradient(first, x).numpy()[1:], 0.0, atol=1e-7)


def test_layer_norm_changes_the_critic():
    with_norm, without = _critic(normalization="layer"), _critic(normalization="none")
    assert with_norm.count_params() > without.count_params()


@pytest.mark.parametrize("index", [0, 1])
def test_config_round_trip(index):
    model, x = _pairs()[index]
    config = model.get_config()
    json.dumps(config)
    clone = type(model).from_config(config)
    assert type(clone) is type(model) and clone.get_config() == config
    perturb_weights(model)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(model(x)), atol=1e-6)


@pytest.mark.parametrize("index", [0, 1])
def test_keras_save_and_load(index, tmp_path):
    model, x = _pairs()[index]
    perturb_weights(model)
    run_saving_test(model, x, tmp_path, atol=1e-6)


def test_tiny_models_are_small():
    assert _generator().count_params() < 50_000
    assert _critic().count_params() < 50_000


@pytest.mark.parametrize("kwargs, error, arg", [
    ({"eps": 0}, ValueError, "eps"),
    ({"eps": -0.1}, ValueError, "eps"),
    ({"eps": float("inf")}, ValueError, "eps"),
    ({"eps": "0.1"}, TypeError, "eps"),
    ({"latent_dim": 0}, ValueError, "latent_dim"),
    ({"latent_dim": 8.0}, TypeError, "latent_dim"),
    ({"filters": ()}, ValueError, "filters"),
    ({"filters": (8, -1)}, ValueError, "filters"),
    ({"output_shape": (8, 8)}, ValueError, "output_shape"),
    ({"no_such_arg": 1}, TypeError, "no_such_arg"),
])
def test_generator_bad_args(kwargs, error, arg):
    with pytest.raises(error, match=arg):
        NoiseGenerator(**{"output_shape": (8, 8, 1), **TINY_GENERATOR, **kwargs})


@pytest.mark.parametrize("kwargs, error, arg", [
    ({"normalization": "batch"}, ValueError, "normalization"),
    ({"normalization": "instance"}, ValueError, "normalization"),
    ({"normalization": None}, TypeError, "normalization"),
    ({"negative_slope": -0.1}, ValueError, "negative_slope"),
    ({"filters": ()}, ValueError, "filters"),
    ({"filters": 8}, TypeError, "filters"),
    ({"input_shape": (8, 8, 0)}, ValueError, "input_shape"),
    ({"no_such_arg": 1}, TypeError, "no_such_arg"),
])
def test_critic_bad_args(kwargs, error, arg):
    with pytest.raises(error, match=arg):
        NoiseCritic(**{"input_shape": (8, 8, 1), **TINY_CRITIC, **kwargs})


def test_batch_norm_refusal_says_why():
    with pytest.raises(ValueError, match="gradient penalty"):
        _critic(normalization="batch")
