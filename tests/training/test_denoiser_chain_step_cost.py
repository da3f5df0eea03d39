"""The RL chain's DQN learns a known optimal policy (stop on clean inputs, a tool on noisy ones), and its
step cost moves the learned policy in the expected direction; double DQN and the stop bias behave."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdefend.models.denoiser_agent import DenoiserAgent
from tfdefend.models.denoiser_toolbox import DenoiserToolbox
from tfdefend.training import DenoiserChainDQN
from tfdefend.training.rl_chain_training import _add_stop_bias

SHAPE = (8, 8, 1)
SHRINK, IDENTITY, STOP = 0, 1, 2
CLEAN_DEVIATION, NOISY_DEVIATION = 0.02, 0.3


def _shrink_toolbox():
    """Tool 0 halves every pixel's distance to 0.5 (relu(x - .5), relu(.5 - x), then -/+ half of
    each); tool 1 is the identity (its corrections stay zero)."""
    toolbox = DenoiserToolbox(SHAPE, strengths=(2, 8), depths=(2,), filters=2)
    conv, correction = toolbox.tools[SHRINK].get_layer("conv1"), toolbox.tools[SHRINK].get_layer("correction")
    kernel = np.zeros(conv.kernel.shape, np.float32)
    kernel[1, 1, 0] = [1.0, -1.0]
    conv.kernel.assign(kernel)
    conv.bias.assign([-0.5, 0.5])
    kernel = np.zeros(correction.kernel.shape, np.float32)
    kernel[1, 1, :, 0] = [-0.5, 0.5]
    correction.kernel.assign(kernel)
    return toolbox


class _DistanceLogits(keras.layers.Layer):
    def call(self, x):
        distance = tf.reduce_mean(tf.abs(x - 0.5), axis=[1, 2, 3])
        return tf.stack([2.0 - 20.0 * distance, tf.zeros_like(distance)], axis=-1)


def _classifier():
    """Class 0 ("the right one") has probability sigmoid(2 - 20 * mean |x - 0.5|)."""
    return keras.Sequential([keras.Input(SHAPE), _DistanceLogits()])


def _clean_and_noisy(seed, n=32):
    """Half "clean" images (every pixel 0.5 +- 0.02), half "noisy" ones (0.5 +- 0.3); all labelled 0."""
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(n, *SHAPE))
    deviation = np.repeat([CLEAN_DEVIATION, NOISY_DEVIATION], n // 2)[:, None, None, None]
    return (0.5 + deviation * signs).astype(np.float32), np.zeros(n, np.int32)


def _learned_policy(step_cost, double_dqn=False, iterations=60):
    """Trains a small agent on the toy task; returns its greedy actions on fresh images [n, steps]."""
    keras.utils.set_random_seed(0)
    agent = DenoiserAgent(SHAPE, num_actions=3, conv_filters=(4,), kernel_sizes=(3,), fc_units=16,
                          lstm_units=8)
    trainer = DenoiserChainDQN(agent, _shrink_toolbox(), _classifier(), gamma=0.9, max_steps=2,
                               step_cost=step_cost, double_dqn=double_dqn, seed=0)
    trainer.compile(optimizer=keras.optimizers.Adam(3e-3))
    rng = np.random.default_rng(0)
    replay = []
    for it in range(iterations):
        x, y = _clean_and_noisy(it)
        episodes = trainer.collect(x, y, epsilon=max(0.1, 1.0 - it / 30))
        replay.append({k: np.asarray(v) for k, v in episodes.items()})
        pool = {k: np.concatenate([r[k] for r in replay[-20:]]) for k in replay[0]}
        for _ in range(4):
            rows = rng.choice(len(pool["action"]), 64)
            trainer.train_on_batch({k: v[rows] for k, v in pool.items()})
        if it % 5 == 4:
            trainer.update_target()
    x, y = _clean_and_noisy(10_000)
    greedy = trainer.collect(x, y, epsilon=0.0)
    actions = np.full((len(x), 2), -1)
    actions[np.asarray(greedy["index"]), np.asarray(greedy["step"])] = np.asarray(greedy["action"])
    return actions


def _tools_per_image(actions):
    return ((actions != STOP) & (actions >= 0)).sum(axis=1)


def test_the_rewards_of_the_toy_task_are_what_the_policy_test_assumes():
    trainer = DenoiserChainDQN(DenoiserAgent(SHAPE, num_actions=3, conv_filters=(4,), kernel_sizes=(3,)),
                               _shrink_toolbox(), _classifier(), max_steps=1, step_cost=0.1, seed=0)
    x, y = _clean_and_noisy(0)
    out = trainer.collect(x, y, epsilon=1.0)
    action, reward, index = (np.asarray(out[k]) for k in ("action", "reward", "index"))
    noisy = index >= len(x) // 2
    assert np.allclose(reward[action == STOP], 0.0)
    assert np.allclose(reward[action == IDENTITY], -0.1, atol=1e-6)  # no gain, pays the cost
    shrink_clean, shrink_noisy = reward[(action == SHRINK) & ~noisy], reward[(action == SHRINK) & noisy]
    assert len(shrink_clean) and len(shrink_noisy)
    assert np.all((shrink_clean > -0.1) & (shrink_clean < -0.05))  # gains 0.026 < the cost
    assert np.all(shrink_noisy > 0.1)  # gains 0.25 > the cost


@pytest.mark.parametrize("double_dqn", [False, True])
def test_with_a_step_cost_the_agent_stops_on_clean_images_and_denoises_noisy_ones(double_dqn):
    actions = _learned_policy(step_cost=0.1, double_dqn=double_dqn)
    clean, noisy = actions[:16], actions[16:]
    assert np.mean(clean[:, 0] == STOP) >= 0.9, clean
    assert np.mean(noisy[:, 0] == SHRINK) >= 0.9, noisy


def test_the_step_cost_moves_the_policy_towards_fewer_tools_on_clean_images():
    free, costly = _learned_policy(step_cost=0.0), _learned_policy(step_cost=0.1)
    # Without a cost, shrinking a clean image still gains 0.026: the agent takes it.
    assert _tools_per_image(free[:16]).mean() >= 1.0
    assert _tools_per_image(costly[:16]).mean() <= 0.1
    assert _tools_per_image(free[:16]).mean() > _tools_per_image(costly[:16]).mean() + 0.9


def test_double_dqn_targets_use_the_online_argmax_and_the_target_value():
    keras.utils.set_random_seed(3)
    agent = DenoiserAgent(SHAPE, num_actions=3, conv_filters=(4,), kernel_sizes=(3,), lstm_units=8)
    trainer = DenoiserChainDQN(agent, _shrink_toolbox(), _classifier(), gamma=0.5, max_steps=2,
                               double_dqn=True, seed=0)
    for weight in trainer.target_agent.weights:  # a target network that disagrees with the online one
        weight.assign(weight + 0.3 * tf.random.normal(weight.shape, seed=1))
    x, y = _clean_and_noisy(0, n=8)
    batch = {k: np.asarray(v) for k, v in trainer.collect(x, y, epsilon=1.0).items()}
    next_state = [batch[k] for k in ("next_image", "next_prev_action", "next_h", "next_c")]
    online = np.asarray(agent(next_state)[0])
    target = np.asarray(trainer.target_agent(next_state)[0])
    expected_next = target[np.arange(len(online)), online.argmax(-1)]
    q = np.asarray(agent([batch[k] for k in ("image", "prev_action", "h", "c")])[0])
    q_taken = q[np.arange(len(q)), batch["action"]]
    expected = batch["reward"] + 0.5 * (1.0 - batch["done"]) * expected_next
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3))
    metrics = trainer.test_on_batch(batch, return_dict=True)
    error = q_taken - expected
    huber = np.mean(np.where(np.abs(error) <= 1.0, 0.5 * error**2, np.abs(error) - 0.5))
    assert metrics["loss"] == pytest.approx(huber, rel=1e-4)
    assert not np.allclose(expected_next, target.max(-1))  # differs from the plain DQN target here


def test_the_stop_bias_makes_stop_the_first_greedy_action():
    keras.utils.set_random_seed(0)
    agent = DenoiserAgent(SHAPE, num_actions=3, conv_filters=(4,), kernel_sizes=(3,), lstm_units=8)
    _add_stop_bias(agent, 10.0)
    trainer = DenoiserChainDQN(agent, _shrink_toolbox(), _classifier(), max_steps=2, seed=0)
    x, y = _clean_and_noisy(0)
    assert (np.asarray(trainer.collect(x, y, epsilon=0.0)["action"]) == STOP).all()


def test_bad_step_cost_and_double_dqn_are_refused():
    parts = (DenoiserAgent(SHAPE, num_actions=3, conv_filters=(4,), kernel_sizes=(3,)), _shrink_toolbox(),
             _classifier())
    with pytest.raises(ValueError, match="step_cost"):
        DenoiserChainDQN(*parts, step_cost=-0.1)
    with pytest.raises(TypeError, match="step_cost"):
        DenoiserChainDQN(*parts, step_cost="0.1")
    with pytest.raises(TypeError, match="double_dqn"):
        DenoiserChainDQN(*parts, double_dqn=1)
    with pytest.raises(TypeError, match="stop_bias"):
        _add_stop_bias(keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]), 1.0)
