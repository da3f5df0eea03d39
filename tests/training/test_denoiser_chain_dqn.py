import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.harness import images
from tfdefend.models.denoiser_agent import DenoiserAgent
from tfdefend.models.denoiser_toolbox import DenoiserToolbox
from tfdefend.models.rl_denoiser_chain import RLDenoiserChain
from tfdefend.training import DenoiserChainDQN
from tfdefend.training.denoiser_chain_dqn import PSNR_MAX_DB, huber

SHAPE = (8, 8, 1)
SHIFTS = (0.1, -0.05)  # tool 0 brightens, tool 1 darkens; action 2 is "stop"
STOP = 2


def _toolbox():
    """Two tools with hand-set corrections: tool k returns clip(x + SHIFTS[k], 0, 1)."""
    toolbox = DenoiserToolbox(SHAPE, strengths=(2, 8), depths=(2,), filters=4)
    for tool, shift in zip(toolbox.tools, SHIFTS):
        tool.get_layer("correction").bias.assign([shift])
    return toolbox


def _by_hand(x, tool):
    return np.clip(x + SHIFTS[tool], 0.0, 1.0)


def _classifier():
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(3)])


def _agent(q_bias=None):
    """A small DenoiserAgent; with `q_bias` its Q-values are that constant (a fixed greedy policy)."""
    keras.utils.set_random_seed(2)
    agent = DenoiserAgent(SHAPE, num_actions=3, conv_filters=(4, 4), kernel_sizes=(3, 3), fc_units=8,
                          lstm_units=8)
    if q_bias is not None:
        layer = agent.get_layer("q_values")
        layer.kernel.assign(np.zeros(layer.kernel.shape, np.float32))
        layer.bias.assign(np.asarray(q_bias, np.float32))
    return agent


def _scripted_agent():
    """An agent with the DenoiserAgent interface whose greedy policy is known in closed form.

    First step (prev one-hot all zero): tool 0 for dark images (mean < 0.5),
    tool 1 for bright ones. After any tool: stop. The "LSTM" state counts:
    h' = h + 1, c' = c + 2.
    """
    images, prev = keras.Input(SHAPE), keras.Input((3,))
    h, c = keras.Input((4,)), keras.Input((4,))
    brightness = keras.layers.GlobalAveragePooling2D()(images)
    from_image = keras.layers.Dense(3, use_bias=False, name="from_image")(brightness)
    from_prev = keras.layers.Dense(3, name="from_prev")(prev)
    q = keras.layers.Add()([from_image, from_prev])
    h_new, c_new = keras.layers.Dense(4, name="h")(h), keras.layers.Dense(4, name="c")(c)
    agent = keras.Model([images, prev, h, c], [q, h_new, c_new])
    agent.get_layer("from_image").set_weights([np.array([[-1.0, 1.0, 0.0]], np.float32)])
    agent.get_layer("from_prev").set_weights([np.array([[-5, -5, 5], [-5, -5, 5], [0, 0, 0]], np.float32),
                                              np.array([0.5, -0.5, -1.0], np.float32)])
    agent.get_layer("h").set_weights([np.eye(4, dtype=np.float32), np.ones(4, np.float32)])
    agent.get_layer("c").set_weights([np.eye(4, dtype=np.float32), 2 * np.ones(4, np.float32)])
    agent.num_actions = 3
    agent.initial_state = lambda n: (tf.zeros([n, 4]), tf.zeros([n, 4]))
    return agent


def _dark_and_bright(n=6, seed=0):
    """Half dark, half bright images, and random labels (drawn after the images, from the same generator)."""
    rng = np.random.default_rng(seed)
    x = images(n, SHAPE, seed=rng, high=0.4)
    x[n // 2:] += 0.55
    return x, rng.integers(0, 3, n)


def _np(transitions):
    return {k: np.asarray(v) for k, v in transitions.items()}


def _score(reward, classifier, x, labels, clean):
    if reward == "psnr":
        mse = np.maximum(((x - clean) ** 2).reshape(len(x), -1).mean(1), 10 ** (-PSNR_MAX_DB / 10))
        return 10 * np.log10(1.0 / mse)
    p = np.asarray(tf.nn.softmax(classifier(x)))[np.arange(len(x)), labels]
    return p if reward == "probability" else np.log(p)


def _weights(model):
    return [np.array(w) for w in model.weights]


def _same(before, model):
    return all(np.array_equal(b, np.asarray(w)) for b, w in zip(before, model.weights))


@pytest.mark.parametrize("tool", [0, 1])
def test_fixed_tool_policy_matches_applying_the_tool_by_hand(tool):
    x, y = _dark_and_bright()
    classifier = _classifier()
    q_bias = [0.0, 0.0, -1.0]
    q_bias[tool] = 1.0
    trainer = DenoiserChainDQN(_agent(q_bias), _toolbox(), classifier, max_steps=3)
    t = _np(trainer.collect(x, y, x, epsilon=0.0))
    assert len(t["action"]) == 3 * len(x)
    assert (t["action"] == tool).all()
    np.testing.assert_array_equal(t["step"], np.repeat([0, 1, 2], len(x)))
    np.testing.assert_array_equal(t["index"], np.tile(np.arange(len(x)), 3))
    np.testing.assert_array_equal(t["done"], t["step"] == 2)
    expected, image = [], x
    for step in range(3):
        rows = t["step"] == step
        np.testing.assert_allclose(t["image"][rows], image, atol=1e-6)
        image = _by_hand(image, tool)
        np.testing.assert_allclose(t["next_image"][rows], image, atol=1e-6)
        expected.append(_score("probability", classifier, image, y, x)
                        - _score("probability", classifier, t["image"][rows], y, x))
    np.testing.assert_allclose(t["reward"], np.concatenate(expected), atol=1e-5)
    # Previous actions and LSTM states chain from one step to the next.
    first, later = t["step"] == 0, t["step"] > 0
    assert not t["prev_action"][first].any() and not t["h"][first].any() and not t["c"][first].any()
    np.testing.assert_array_equal(t["prev_action"][later], np.eye(3, dtype=np.float32)[[tool] * 2 * len(x)])
    np.testing.assert_array_equal(t["next_prev_action"], np.eye(3, dtype=np.float32)[t["action"]])
    np.testing.assert_array_equal(t["h"][later], t["next_h"][~(t["step"] == 2)])
    np.testing.assert_array_equal(t["c"][later], t["next_c"][~(t["step"] == 2)])


def test_stop_leaves_the_image_unchanged_and_ends_the_episode():
    x, y = _dark_and_bright()
    trainer = DenoiserChainDQN(_agent([0.0, 0.0, 1.0]), _toolbox(), _classifier(), max_steps=3)
    t = _np(trainer.collect(x, y, epsilon=0.0))
    assert len(t["action"]) == len(x)
    assert (t["action"] == STOP).all() and t["done"].all() and (t["step"] == 0).all()
    np.testing.assert_array_equal(t["next_image"], x)
    np.testing.assert_array_equal(t["reward"], np.zeros(len(x)))


@pytest.mark.parametrize("reward", ["probability", "cross_entropy", "psnr"])
def test_per_image_actions_done_masks_and_rewards(reward):
    x, y = _dark_and_bright(8)
    clean = np.clip(x + 0.02, 0, 1).astype(np.float32)
    classifier = _classifier()
    trainer = DenoiserChainDQN(_scripted_agent(), _toolbox(), classifier, max_steps=3, reward=reward)
    t = _np(trainer.collect(x, y, clean, epsilon=0.0))
    # One tool (0 for dark images, 1 for bright ones), then stop: two steps per image, no third.
    assert len(t["action"]) == 2 * len(x)
    first, second = t["step"] == 0, t["step"] == 1
    tools = np.array([0] * 4 + [1] * 4)
    np.testing.assert_array_equal(t["action"][first], tools)
    assert (t["action"][second] == STOP).all()
    np.testing.assert_array_equal(t["done"], second)
    denoised = np.stack([_by_hand(img, k) for img, k in zip(x, tools)])
    np.testing.assert_allclose(t["next_image"][first], denoised, atol=1e-6)
    np.testing.assert_array_equal(t["next_image"][second], t["image"][second])
    gain = _score(reward, classifier, denoised, y, clean) - _score(reward, classifier, x, y, clean)
    np.testing.assert_allclose(t["reward"][first], gain, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(t["reward"][second], 0.0)
    np.testing.assert_array_equal(t["next_h"][first], 1.0)
    np.testing.assert_array_equal(t["next_c"][second], 4.0)


def test_greedy_rollout_ends_where_the_chain_does():
    x, y = _dark_and_bright(16)
    toolbox, agent = _toolbox(), _agent()
    layer = agent.get_layer("q_values")  # Q-values that depend on the image and the step
    layer.kernel.assign(np.random.default_rng(2).normal(0, 2, layer.kernel.shape).astype(np.float32))
    trainer = DenoiserChainDQN(agent, toolbox, _classifier(), max_steps=3)
    t = _np(trainer.collect(x, y, epsilon=0.0))
    final = x.copy()
    final[t["index"]] = t["next_image"]  # step-major rows: the last write per image is its last step
    chain = RLDenoiserChain(toolbox, agent, max_steps=3)
    np.testing.assert_allclose(final, np.asarray(chain(x)), atol=1e-6)
    actions = np.asarray(chain.choose(x))
    np.testing.assert_array_equal(t["action"], actions.T[actions.T >= 0])
    assert set(t["action"].tolist()) == {0, 1, STOP} and (t["step"] == 1).any()  # a mixed policy


def test_epsilon_explores_per_image_and_greedy_rollouts_are_deterministic():
    x, y = _dark_and_bright(64)
    trainer = DenoiserChainDQN(_agent([0.0, 0.0, 1.0]), _toolbox(), _classifier(), max_steps=2, seed=3)
    explored = _np(trainer.collect(x, y, epsilon=1.0))
    assert set(explored["action"][explored["step"] == 0].tolist()) == {0, 1, 2}
    assert (explored["step"] == 1).sum() == (explored["action"][explored["step"] == 0] != STOP).sum()
    a, b = (_np(trainer.collect(x, y, epsilon=0.0)) for _ in range(2))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_collect_is_traced_once_per_batch_shape():
    x, y = _dark_and_bright(8)
    trainer = DenoiserChainDQN(_agent(), _toolbox(), _classifier())
    for epsilon in (1.0, 0.5, 0.0):
        trainer.collect(x, y, epsilon=epsilon)
    assert trainer.collect_function.experimental_get_tracing_count() == 1
    trainer.collect(x[:4], y[:4], epsilon=0.3)
    assert trainer.collect_function.experimental_get_tracing_count() == 2


def _td_gap(trainer, batch):
    state = [batch[k] for k in ("image", "prev_action", "h", "c")]
    next_state = [batch[k] for k in ("next_image", "next_prev_action", "next_h", "next_c")]
    q = np.asarray(trainer.agent(state)[0])[np.arange(len(batch["action"])), batch["action"]]
    q_next = np.asarray(trainer.target_agent(next_state)[0]).max(axis=1)
    target = batch["reward"] + trainer.gamma * (1.0 - batch["done"]) * q_next
    return q, target


def test_one_update_moves_q_toward_the_target_and_only_trains_the_agent():
    x, y = _dark_and_bright(16)
    toolbox, classifier, agent = _toolbox(), _classifier(), _agent()
    frozen = (_weights(toolbox), _weights(classifier))
    trainer = DenoiserChainDQN(agent, toolbox, classifier, gamma=0.9, max_steps=3, reward="cross_entropy")
    assert not toolbox.trainable and not classifier.trainable
    assert {v.path for v in trainer.trainable_variables} == {v.path for v in agent.trainable_variables}
    batch = _np(trainer.collect(x, y, epsilon=1.0))
    batch["reward"] = batch["reward"] + 1.0  # targets well away from the untrained Q-values
    target_before = _weights(trainer.target_agent)
    q, target = _td_gap(trainer, batch)
    loss = huber(tf.constant(q - target), 1.0)
    trainer.compile(optimizer=keras.optimizers.SGD(0.05))
    logs = trainer.train_on_batch(batch, return_dict=True)
    assert logs["loss"] == pytest.approx(float(loss), rel=1e-4)
    assert logs["q_mean"] == pytest.approx(float(q.mean()), rel=1e-4, abs=1e-6)
    q_after, target_after = _td_gap(trainer, batch)
    np.testing.assert_allclose(target_after, target, rtol=1e-6)  # the target network did not move
    assert np.abs(q_after - target).mean() < np.abs(q - target).mean()
    for _ in range(3):
        trainer.train_on_batch(batch)
    assert _same(frozen[0], toolbox) and _same(frozen[1], classifier)
    assert _same(target_before, trainer.target_agent)
    assert not _same(target_before, agent)
    trainer.update_target()
    for a, b in zip(trainer.target_agent.weights, agent.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_target_starts_as_a_copy_of_the_agent():
    agent = _agent()
    trainer = DenoiserChainDQN(agent, _toolbox(), _classifier())
    assert trainer.target_agent is not agent and not trainer.target_agent.trainable
    assert _same(_weights(agent), trainer.target_agent)
    x, _ = _dark_and_bright(2)
    h, c = agent.initial_state(2)
    inputs = [x, np.zeros((2, 3), np.float32), np.asarray(h), np.asarray(c)]
    np.testing.assert_array_equal(np.asarray(agent(inputs)[0]), np.asarray(trainer.target_agent(inputs)[0]))


def test_huber_matches_numpy():
    error = np.array([-3.0, -0.5, 0.0, 0.2, 2.0], np.float32)
    expected = np.where(np.abs(error) <= 1.5, 0.5 * error ** 2, 1.5 * (np.abs(error) - 0.75)).mean()
    assert float(huber(tf.constant(error), 1.5)) == pytest.approx(expected, rel=1e-6)


def test_config_round_trip():
    trainer = DenoiserChainDQN(_agent(), _toolbox(), _classifier(), gamma=0.5, max_steps=2, reward="psnr",
                               huber_delta=2.0, seed=7, name="dqn")
    config = trainer.get_config()
    restored = DenoiserChainDQN.from_config(config)
    assert restored.get_config() == config
    assert (restored.gamma, restored.max_steps, restored.reward, restored.huber_delta, restored.seed) == \
        (0.5, 2, "psnr", 2.0, 7)
    assert restored.toolbox.num_tools == 2 and restored.agent.num_actions == 3
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(trainer))
    assert isinstance(again, DenoiserChainDQN) and again.get_config() == config


@pytest.mark.parametrize("kwargs, name", [
    ({"gamma": -0.1}, "gamma"), ({"gamma": 1.5}, "gamma"), ({"reward": "accuracy"}, "reward"),
    ({"max_steps": 0}, "max_steps"), ({"huber_delta": 0.0}, "huber_delta"), ({"seed": -1}, "seed"),
])
def test_bad_hyperparameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DenoiserChainDQN(_agent(), _toolbox(), _classifier(), **kwargs)


def test_bad_models_and_inputs():
    agent, toolbox, classifier = _agent(), _toolbox(), _classifier()
    with pytest.raises(TypeError, match="classifier"):
        DenoiserChainDQN(agent, toolbox, lambda v: v)
    with pytest.raises(TypeError, match="toolbox"):
        DenoiserChainDQN(agent, classifier, _classifier())
    with pytest.raises(ValueError, match="actions"):
        DenoiserChainDQN(DenoiserAgent(SHAPE, num_actions=4, conv_filters=(4,), kernel_sizes=(3,), fc_units=4,
                                       lstm_units=4), toolbox, classifier)
    with pytest.raises(TypeError, match="gamma"):
        DenoiserChainDQN(agent, toolbox, classifier, gamma="high")
    trainer = DenoiserChainDQN(agent, toolbox, classifier)
    x, y = _dark_and_bright(4)
    with pytest.raises(ValueError, match="epsilon"):
        trainer.collect(x, y, epsilon=1.5)
    with pytest.raises(ValueError, match="labels"):
        trainer.collect(x)
    with pytest.raises(ValueError, match="clean_images"):
        trainer.collect(x, y, x[:2])
    with pytest.raises(ValueError, match="images"):
        trainer.collect(x * 10, y)
    with pytest.raises(ValueError, match="clean_images"):
        DenoiserChainDQN(_agent(), _toolbox(), _classifier(), reward="psnr").collect(x, y)
    trainer.compile(optimizer="sgd")
    batch = _np(trainer.collect(x, y, epsilon=1.0))
    del batch["reward"]
    with pytest.raises(ValueError, match="reward"):
        trainer.train_on_batch(batch)
