"""Tests for RLDenoiserChain: the greedy rollout, its two tool executions, serialization and errors."""

import numpy as np
import pytest
import tensorflow as tf

from tests.harness import images, run_saving_test
from tfdefend.models import DenoiserAgent, DenoiserToolbox, RLDenoiserChain, create_model, model_info

SHAPE = (8, 8, 1)
TOOLBOX = {"strengths": (1, 4), "depths": (2, 3), "filters": 4}  # 4 tools, stop = action 4
AGENT = {"conv_filters": (4, 4), "kernel_sizes": (3, 3), "fc_units": 8, "lstm_units": 8}
MODES = ["gather", "dense"]
IMAGE_SEED = 5  # the seed of the test images: `random_chain`'s docstring says what they show




def random_chain(shape=SHAPE, tool_execution="gather", max_steps=3, seed=3):
    """A tiny chain with random tools and a random agent.

    With the default seed and `images(16, SHAPE, seed=IMAGE_SEED)`, the greedy agent uses several
    tools, stops some images at step 0 and others later (checked in
    `test_random_policy_matches_a_rollout_by_hand`).
    """
    chain = RLDenoiserChain(TOOLBOX, AGENT, max_steps=max_steps, tool_execution=tool_execution,
                            input_shape=shape)
    rng = np.random.default_rng(seed)
    for tool in chain.toolbox.tools:
        layer = tool.get_layer("correction")
        layer.set_weights([0.2 * rng.standard_normal(w.shape).astype("float32") for w in layer.get_weights()])
    chain.agent.set_weights([0.5 * rng.standard_normal(w.shape).astype("float32")
                             for w in chain.agent.get_weights()])
    return chain


def _fix_policy(chain, action):
    """Makes the agent choose `action` at every step, whatever it sees."""
    layer = chain.agent.get_layer("q_values")
    kernel, bias = layer.get_weights()
    layer.set_weights([np.zeros_like(kernel), 10.0 * np.eye(len(bias), dtype="float32")[action]])


def _reference(chain, x):
    """The rollout written out by hand: one image at a time, agent and tools called one by one."""
    agent, tools, stop = chain.agent, chain.toolbox.tools, chain.stop_action
    outputs, actions = [], []
    for image in x:
        current, prev = image[None], np.zeros((1, stop + 1), "float32")
        h, c = agent.initial_state(1)
        done, taken = False, []
        for _ in range(chain.max_steps):
            q, h, c = agent([tf.constant(current), tf.constant(prev), h, c])
            action = int(np.argmax(np.asarray(q)[0]))
            taken.append(-1 if done else action)
            done = done or action == stop
            if not done:
                current = np.asarray(tools[action](current))
            prev = np.eye(stop + 1, dtype="float32")[action][None]
        outputs.append(current[0])
        actions.append(taken)
    return np.stack(outputs), np.array(actions)


def test_registered_as_a_preprocessor_with_a_default_toolbox_and_agent():
    info = model_info("rl_denoiser_chain")
    assert info["cls"] is RLDenoiserChain
    assert info["kind"] == "preprocessor"
    chain = create_model("rl_denoiser_chain")
    assert chain.input_shape == chain.output_shape == (None, 28, 28, 1)
    assert chain.toolbox.num_tools == 10 and chain.agent.num_actions == 11 and chain.stop_action == 10
    assert (chain.max_steps, chain.tool_execution) == (3, "gather")


def test_input_shape_comes_from_the_toolbox():
    toolbox = DenoiserToolbox((9, 7, 3), **TOOLBOX)
    chain = RLDenoiserChain(toolbox, AGENT)
    assert chain.toolbox is toolbox and chain.image_shape == (9, 7, 3)
    assert chain.agent.num_actions == 5 and chain.agent.image_shape == (9, 7, 3)


@pytest.mark.parametrize("mode", MODES)
def test_untrained_chain_is_the_identity(mode):
    chain = RLDenoiserChain(TOOLBOX, AGENT, tool_execution=mode, input_shape=SHAPE)
    x = images(4, SHAPE, seed=IMAGE_SEED)
    np.testing.assert_allclose(np.asarray(chain(x)), x, atol=1e-7)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("tool, max_steps", [(0, 3), (3, 3), (2, 1), (1, 2)])
def test_fixed_policy_equals_applying_the_tool_by_hand(mode, tool, max_steps):
    chain = random_chain(tool_execution=mode, max_steps=max_steps)
    _fix_policy(chain, tool)
    x = images(5, SHAPE, seed=IMAGE_SEED)
    expected = x
    for _ in range(max_steps):
        expected = np.asarray(chain.toolbox.tools[tool](expected))
    assert np.abs(expected - x).max() > 1e-2
    np.testing.assert_allclose(np.asarray(chain(x)), expected, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(chain.choose(x)), np.full((5, max_steps), tool))


@pytest.mark.parametrize("mode", MODES)
def test_stop_at_the_first_step_leaves_the_image_unchanged(mode):
    chain = random_chain(tool_execution=mode)
    _fix_policy(chain, chain.stop_action)
    x = images(4, SHAPE, seed=IMAGE_SEED)
    np.testing.assert_array_equal(np.asarray(chain(x)), x)
    np.testing.assert_array_equal(np.asarray(chain.choose(x)), [[4, -1, -1]] * 4)


@pytest.mark.parametrize("mode", MODES)
def test_random_policy_matches_a_rollout_by_hand(mode):
    chain = random_chain(tool_execution=mode)
    x = images(16, SHAPE, seed=IMAGE_SEED)
    expected, expected_actions = _reference(chain, x)
    actions = np.asarray(chain.choose(x))
    assert actions.dtype == np.int32 and actions.shape == (16, 3)
    np.testing.assert_array_equal(actions, expected_actions)
    # The test is only meaningful if the policy varies: several tools, stops at step 0 and later.
    assert len(set(actions[:, 0]) - {4}) >= 2
    assert (actions[:, 0] == 4).any() and ((actions[:, 0] != 4) & (actions == 4).any(axis=1)).any()
    np.testing.assert_allclose(np.asarray(chain(x)), expected, atol=1e-5)


def test_gather_and_dense_agree_and_share_weights():
    chain = random_chain()
    dense = chain.with_tool_execution("dense")
    assert dense.tool_execution == "dense" and dense.toolbox is chain.toolbox and dense.agent is chain.agent
    x = images(16, SHAPE, seed=IMAGE_SEED)
    np.testing.assert_allclose(np.asarray(dense(x)), np.asarray(chain(x)), atol=1e-6)
    np.testing.assert_array_equal(np.asarray(dense.choose(x)), np.asarray(chain.choose(x)))
    _fix_policy(chain, 1)  # a change through one chain is seen by the other
    np.testing.assert_allclose(np.asarray(dense(x)), np.asarray(chain(x)), atol=1e-6)
    np.testing.assert_array_equal(np.asarray(dense.choose(x)), np.ones((16, 3)))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch", [None, 1])
def test_graph_mode_matches_eager(mode, batch):
    chain = random_chain(tool_execution=mode)
    run = tf.function(lambda x: chain(x, training=False), input_signature=[tf.TensorSpec((batch, *SHAPE))],
                      autograph=False)
    x = images(16, SHAPE, seed=IMAGE_SEED)
    if batch == 1:
        got = np.concatenate([run(x[i:i + 1]).numpy() for i in range(len(x))])
    else:
        got = run(x).numpy()
    np.testing.assert_allclose(got, np.asarray(chain(x)), atol=1e-6)
    np.testing.assert_allclose(chain.predict(x, batch_size=5, verbose=0), got, atol=1e-6)


def test_gradient_flows_through_the_executed_tools():
    chain = random_chain()
    _fix_policy(chain, 2)
    x = tf.constant(images(2, SHAPE, seed=IMAGE_SEED))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = tf.reduce_sum(chain(x))
    grad = tape.gradient(out, x)
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0


@pytest.mark.parametrize("mode", MODES)
def test_keras_save_and_load(mode, tmp_path):
    chain = random_chain(tool_execution=mode)
    x = images(16, SHAPE, seed=IMAGE_SEED)
    reloaded = run_saving_test(chain, x, tmp_path, outputs=lambda m, x: [m(x), m.choose(x)])
    assert type(reloaded) is RLDenoiserChain
    assert isinstance(reloaded.toolbox, DenoiserToolbox) and isinstance(reloaded.agent, DenoiserAgent)


def test_bad_args():
    toolbox = DenoiserToolbox(SHAPE, **TOOLBOX)
    with pytest.raises(ValueError, match="tool_execution"):
        RLDenoiserChain(toolbox, AGENT, tool_execution="x")
    with pytest.raises(ValueError, match="max_steps"):
        RLDenoiserChain(toolbox, AGENT, max_steps=0)
    with pytest.raises(TypeError, match="max_steps"):
        RLDenoiserChain(toolbox, AGENT, max_steps=2.0)
    with pytest.raises(ValueError, match=r"`agent` must have num_actions .* 5"):
        RLDenoiserChain(toolbox, DenoiserAgent(SHAPE, num_actions=4, **AGENT))
    with pytest.raises(ValueError, match="`agent` takes images of shape"):
        RLDenoiserChain(toolbox, DenoiserAgent((9, 9, 1), num_actions=5, **AGENT))
    with pytest.raises(ValueError, match="`toolbox` takes images of shape"):
        RLDenoiserChain(toolbox, AGENT, input_shape=(9, 9, 1))
    with pytest.raises(TypeError, match="toolbox"):
        RLDenoiserChain("tools", AGENT)
    with pytest.raises(TypeError, match="agent"):
        RLDenoiserChain(toolbox, DenoiserToolbox(SHAPE, **TOOLBOX))
    with pytest.raises(TypeError, match="no_such_arg"):
        RLDenoiserChain(toolbox, AGENT, no_such_arg=1)


def test_wrong_image_shape_is_refused():
    chain = random_chain()
    with pytest.raises(ValueError, match="images"):
        chain(images(2, (9, 9, 1), seed=IMAGE_SEED))
    with pytest.raises(ValueError, match=r"`images` must have shape \(batch, 8, 8, 1\)"):
        chain.choose(images(2, (8, 8, 3), seed=IMAGE_SEED))
