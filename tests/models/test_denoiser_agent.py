"""Tests for DenoiserAgent, the recurrent Q-network of the RL denoiser chain."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.harness import images, run_saving_test
from tfdefend.models import DenoiserAgent, create_model, model_info

SHAPE = (8, 8, 1)
TINY = {"num_actions": 5, "conv_filters": (4, 4), "kernel_sizes": (3, 3), "fc_units": 8, "lstm_units": 6}


def _random_agent(shape=SHAPE, seed=1, **kwargs):
    agent = DenoiserAgent(shape, **{**TINY, **kwargs})
    rng = np.random.default_rng(seed)
    agent.set_weights([0.5 * rng.standard_normal(w.shape).astype("float32") for w in agent.get_weights()])
    return agent


def _step(agent, x, prev=None, state=None):
    n = x.shape[0]
    prev = tf.zeros((n, agent.num_actions)) if prev is None else tf.constant(prev, tf.float32)
    h, c = agent.initial_state(n) if state is None else state
    return [np.asarray(t) for t in agent([x, prev, h, c])]


def test_registered_as_an_agent_with_rl_restore_defaults():
    info = model_info("denoiser_agent")
    assert info["cls"] is DenoiserAgent
    assert info["kind"] == "agent"
    agent = create_model("denoiser_agent")
    assert agent.num_actions == 11 and agent.stop_action == 10
    convs = [layer for layer in agent.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.filters, c.kernel_size, c.strides) for c in convs] == [
        (32, (9, 9), (2, 2)), (24, (5, 5), (2, 2)), (24, (5, 5), (2, 2)), (24, (5, 5), (2, 2))]
    assert [i.name for i in agent.inputs] == ["images", "prev_action", "state_h", "state_c"]
    assert [tuple(i.shape) for i in agent.inputs] == [(None, 28, 28, 1), (None, 11), (None, 50), (None, 50)]
    assert [tuple(o.shape) for o in agent.outputs] == [(None, 11), (None, 50), (None, 50)]
    assert agent.get_layer("fc").units == 32


@pytest.mark.parametrize("shape", [(8, 8, 1), (9, 7, 3)])
def test_one_step_shapes_and_zero_initial_state(shape):
    agent = _random_agent(shape)
    h, c = agent.initial_state(3)
    assert h.shape == c.shape == (3, 6)
    assert not np.any(np.asarray(h)) and not np.any(np.asarray(c))
    q, h, c = _step(agent, tf.constant(images(3, shape)))
    assert q.shape == (3, 5) and h.shape == c.shape == (3, 6)
    assert np.all(np.isfinite(q)) and np.abs(h).max() > 0


def test_q_values_are_a_dense_layer_of_the_new_state():
    agent = _random_agent()
    q, h, _ = _step(agent, tf.constant(images(4, SHAPE)))
    kernel, bias = agent.get_layer("q_values").get_weights()
    np.testing.assert_allclose(q, h @ kernel + bias, atol=1e-5)


def test_previous_action_and_state_change_the_q_values():
    agent = _random_agent()
    x = tf.constant(images(2, SHAPE))
    q0, h, c = _step(agent, x)
    q_prev, *_ = _step(agent, x, prev=np.eye(5, dtype="float32")[[1, 3]])
    q_state, *_ = _step(agent, x, state=(tf.constant(h), tf.constant(c)))
    assert np.abs(q_prev - q0).max() > 1e-3
    assert np.abs(q_state - q0).max() > 1e-3


def test_initial_state_in_a_tf_function_with_a_dynamic_batch():
    agent = _random_agent()

    @tf.function(input_signature=[tf.TensorSpec((None, *SHAPE))])
    def q_values(images):
        h, c = agent.initial_state(tf.shape(images)[0])
        return agent([images, tf.zeros((tf.shape(images)[0], agent.num_actions)), h, c])[0]

    x = tf.constant(images(3, SHAPE))
    np.testing.assert_allclose(q_values(x).numpy(), _step(agent, x)[0], atol=1e-6)


def test_config_round_trip_and_keras_save_and_load(tmp_path):
    agent = _random_agent()
    config = agent.get_config()
    json.dumps(config)
    clone = DenoiserAgent.from_config(config)
    assert clone.get_config() == config
    clone.set_weights(agent.get_weights())
    x, prev = tf.constant(images(3, SHAPE)), np.eye(5, dtype="float32")[[0, 4, 2]]
    expected = _step(agent, x, prev)
    for got, want in zip(_step(clone, x, prev), expected):
        np.testing.assert_allclose(got, want, atol=1e-6)
    reloaded = run_saving_test(agent, x, tmp_path, outputs=lambda model, x: _step(model, x, prev))
    assert type(reloaded) is DenoiserAgent and reloaded.get_config() == config


@pytest.mark.parametrize("kwargs, error, arg", [
    ({"num_actions": 1}, ValueError, "num_actions"),
    ({"conv_filters": ()}, ValueError, "conv_filters"),
    ({"conv_filters": (4, 0)}, ValueError, "conv_filters"),
    ({"kernel_sizes": (3,)}, ValueError, "kernel_sizes"),
    ({"fc_units": "8"}, TypeError, "fc_units"),
    ({"lstm_units": 0}, ValueError, "lstm_units"),
    ({"input_shape": (8, 8)}, ValueError, "input_shape"),
    ({"no_such_arg": 1}, TypeError, "no_such_arg"),
])
def test_bad_args(kwargs, error, arg):
    with pytest.raises(error, match=arg):
        DenoiserAgent(**{"input_shape": SHAPE, **TINY, **kwargs})
