"""`DenoiserChainDQN` learns: updates lower the TD error, and a toy task with a known best tool is solved."""

import keras
import numpy as np
import tensorflow as tf

from tests.training.test_denoiser_chain_dqn import (
    SHAPE,
    STOP,
    _agent,
    _classifier,
    _dark_and_bright,
    _np,
    _td_gap,
)
from tests.training.test_denoiser_chain_dqn import _toolbox as _shift_toolbox
from tfdefend.models.denoiser_agent import DenoiserAgent
from tfdefend.models.denoiser_toolbox import DenoiserToolbox
from tfdefend.training import DenoiserChainDQN
from tfdefend.training.denoiser_chain_dqn import huber

IDENTITY, DARKEN = 0, 1  # the toy task's tools: a no-op and clip(x - 0.4, 0, 1)


def test_a_few_updates_lower_the_td_error_on_a_fixed_batch():
    x, y = _dark_and_bright(16)
    trainer = DenoiserChainDQN(_agent(), _shift_toolbox(), _classifier(), gamma=0.9, max_steps=3,
                               reward="cross_entropy", huber_delta=1.0)
    batch = _np(trainer.collect(x, y, epsilon=1.0))
    batch["reward"] = batch["reward"] + 1.0  # targets well away from the untrained Q-values
    trainer.compile(optimizer=keras.optimizers.Adam(1e-2))
    losses = []
    for _ in range(11):
        q, target = _td_gap(trainer, batch)  # the target network is fixed: a plain regression
        losses.append(float(huber(tf.constant(q - target), 1.0)))
        trainer.train_on_batch(batch)
    assert losses[0] > 0.1  # a gap to close
    assert losses[5] < losses[0] and losses[10] < losses[5]
    assert losses[10] < 0.3 * losses[0], losses


def _darken_toolbox():
    toolbox = DenoiserToolbox(SHAPE, strengths=(2, 8), depths=(2,), filters=4)
    for tool, shift in zip(toolbox.tools, (0.0, -0.4)):
        tool.get_layer("correction").bias.assign([shift])  # corrections are x-independent: kernels are zero
    return toolbox


def _brightness_classifier(slope=20.0):
    """Two classes by mean brightness: logits [0, slope * (mean - 0.5)] (class 1 = "bright")."""
    model = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(2)])
    kernel = np.zeros((int(np.prod(SHAPE)), 2), np.float32)
    kernel[:, 1] = slope / kernel.shape[0]
    model.layers[-1].set_weights([kernel, np.array([0.0, -0.5 * slope], np.float32)])
    return model


def _toy_images(seed, n=32):
    """Half very bright images labelled "dark" (darkening fixes them), half mid-bright ones labelled
    "bright" (darkening breaks them): labels and which tool helps, `DARKEN` for the first half."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.uniform(0.75, 0.95, (n // 2, *SHAPE)), rng.uniform(0.5, 0.7, (n // 2, *SHAPE))])
    return x.astype(np.float32), np.repeat(np.array([0, 1], np.int32), n // 2)


def test_the_greedy_agent_learns_which_tool_helps_which_image():
    """One-step episodes: darkening earns about +0.7 on the first half and -0.9 on the second, the
    identity and stop earn 0. An agent that starts by always picking the identity learns, from
    random-action transitions, to darken exactly the first half, also on images it never saw."""
    keras.utils.set_random_seed(0)
    agent = DenoiserAgent(SHAPE, num_actions=3, conv_filters=(4, 4), kernel_sizes=(3, 3), fc_units=8,
                          lstm_units=8)
    agent.get_layer("q_values").bias.assign(np.array([1.0, 0.0, 0.0], np.float32))  # greedy: identity
    trainer = DenoiserChainDQN(agent, _darken_toolbox(), _brightness_classifier(), max_steps=1, seed=0)
    x, y = _toy_images(0)
    helps = np.arange(len(x)) < len(x) // 2
    assert (np.asarray(trainer.collect(x, y, epsilon=0.0)["action"]) == IDENTITY).all()
    parts = [_np(trainer.collect(x, y, epsilon=1.0)) for _ in range(4)]
    replay = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    darkened = replay["action"] == DARKEN
    assert replay["done"].all()  # one step: the targets are the rewards
    assert (replay["reward"][darkened & helps[replay["index"]]] > 0.5).all()
    assert (replay["reward"][darkened & ~helps[replay["index"]]] < -0.5).all()
    assert (replay["reward"][~darkened] == 0.0).all()
    trainer.compile(optimizer=keras.optimizers.Adam(1e-2))
    for _ in range(100):
        trainer.train_on_batch(replay)
    for seed in (0, 1):  # the training images, then new ones
        x, y = _toy_images(seed)
        actions = np.asarray(trainer.collect(x, y, epsilon=0.0)["action"])
        assert (actions[helps] == DARKEN).all(), actions
        assert np.isin(actions[~helps], [IDENTITY, STOP]).all(), actions
