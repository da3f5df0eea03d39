import keras
import numpy as np
import pytest

from tfdefend.attacks import _core
from tfdefend.models.denoiser_agent import DenoiserAgent
from tfdefend.models.denoiser_toolbox import DenoiserToolbox
from tfdefend.models.rl_denoiser_chain import RLDenoiserChain
from tfdefend.training import DenoiserChainDQN, rl_chain_training, train_rl_denoiser_chain

SHAPE = (8, 8, 1)
FAST = {"images_per_iteration": 8, "batch_size": 8, "updates_per_iteration": 2, "pgd_steps": 2,
        "strengths": (2, 8), "learning_rate": 1e-3}


def _models():
    keras.utils.set_random_seed(0)
    toolbox = DenoiserToolbox(SHAPE, strengths=(2, 8), depths=(2,), filters=4)
    for tool, shift in zip(toolbox.tools, (0.05, -0.05)):
        tool.get_layer("correction").bias.assign([shift])
    agent = DenoiserAgent(SHAPE, num_actions=3, conv_filters=(4, 4), kernel_sizes=(3, 3), fc_units=8,
                          lstm_units=8)
    classifier = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(3)])
    return classifier, toolbox, agent


def _data(n=24):
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (n, *SHAPE)).astype(np.float32), rng.integers(0, 3, n)


def _weights(model):
    return [np.array(w) for w in model.weights]


def _same(before, model):
    return all(np.array_equal(b, np.asarray(w)) for b, w in zip(before, model.weights))


_INSTANCES = []


class _Recording(DenoiserChainDQN):
    """Records its instances (in `_INSTANCES`) and its target updates."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.target_updates = 0
        _INSTANCES.append(self)

    def update_target(self):
        self.target_updates += 1
        super().update_target()


@pytest.fixture
def recording(monkeypatch):
    _INSTANCES.clear()
    monkeypatch.setattr(rl_chain_training, "DenoiserChainDQN", _Recording)
    return _INSTANCES


def test_trains_the_agent_only_and_returns_a_working_chain(recording):
    classifier, toolbox, agent = _models()
    x, y = _data()
    frozen = (_weights(toolbox), _weights(classifier))
    agent_before = _weights(agent)
    chain, history = train_rl_denoiser_chain(classifier, toolbox, agent, x, y, iterations=3,
                                             target_update_period=2, **FAST)
    assert isinstance(chain, RLDenoiserChain) and chain.toolbox is toolbox and chain.agent is agent
    assert chain.max_steps == 3
    out = np.asarray(chain(x[:5]))
    assert out.shape == (5, *SHAPE) and np.all((out >= 0) & (out <= 1))
    assert np.asarray(chain.choose(x[:5])).shape == (5, 3)
    assert set(history) == set(rl_chain_training.HISTORY_KEYS)
    assert all(len(values) == 3 for values in history.values())
    np.testing.assert_allclose(history["epsilon"], [1.0, 0.55, 0.1])
    assert all(np.isfinite(history[k]).all() for k in ("loss", "q_mean", "episode_reward"))
    sizes = history["buffer_size"]
    assert sizes[0] >= 8 and sizes[0] < sizes[1] < sizes[2] <= 3 * 8 * 3
    assert all(0 <= v <= 3 for v in history["tools_per_image"])
    assert not _same(agent_before, agent)
    assert _same(frozen[0], toolbox) and _same(frozen[1], classifier)
    assert toolbox.trainable and classifier.trainable  # the flags are given back
    (trainer,) = recording
    assert trainer.target_updates == 1  # after iteration 2 of 3
    # Each iteration is compiled calls on fixed shapes: one trace of the rollout, whatever epsilon was.
    assert trainer.collect_function.experimental_get_tracing_count() == 1
    assert all(count <= 2 for count in _core.tracing_counts(classifier).values())


def test_options_clean_only_constant_epsilon_psnr_reward(recording):
    classifier, toolbox, agent = _models()
    x, y = _data(6)
    options = dict(FAST, strengths=(), pgd_eps=None, updates_per_iteration=0)
    _, history = train_rl_denoiser_chain(classifier, toolbox, agent, x, y, iterations=2, epsilon=0.3,
                                         reward="psnr", max_steps=2, **options)
    assert history["epsilon"] == [0.3, 0.3]
    assert np.isnan(history["loss"]).all()
    (trainer,) = recording
    assert trainer.reward == "psnr" and trainer.max_steps == 2


def test_mixed_batch_has_fixed_groups_of_each_kind():
    classifier, _, _ = _models()
    x, y = _data(14)
    kinds = rl_chain_training._attack_kinds((2, 8), 8 / 255, 3, True)
    assert [label for label, _, _ in kinds] == ["clean", "fgsm2", "fgsm8", "pgd"]
    assert [attack for _, attack, _ in kinds] == [None, "fgsm", "fgsm", "pgd"]  # registry names
    slot_kind = np.arange(14) % len(kinds)
    x_in = rl_chain_training._mixed_batch(classifier, x, y, kinds, slot_kind, seed=0)
    linf = np.abs(x_in - x).reshape(14, -1).max(axis=1)
    np.testing.assert_array_equal(linf[slot_kind == 0], 0.0)
    for k, (_, _, kwargs) in enumerate(kinds[1:], start=1):
        eps = kwargs["eps"]
        assert np.all(linf[slot_kind == k] <= eps + 1e-6) and np.all(linf[slot_kind == k] > 0.5 * eps)


@pytest.mark.parametrize("kwargs, name", [
    ({"gamma": 1.5}, "gamma"), ({"gamma": -0.5}, "gamma"), ({"reward": "ssim"}, "reward"),
    ({"max_steps": 0}, "max_steps"), ({"epsilon": (1.2, 0.1)}, "epsilon"), ({"epsilon": -0.1}, "epsilon"),
    ({"epsilon": "greedy"}, "epsilon"), ({"iterations": 0}, "iterations"),
    ({"target_update_period": 0}, "target_update_period"), ({"pgd_eps": 8.0}, "pgd_eps"),
    ({"buffer_capacity": 0}, "buffer_capacity"), ({"strengths": (), "pgd_eps": None, "include_clean": False},
                                                  "strengths"),
])
def test_bad_arguments(kwargs, name):
    classifier, toolbox, agent = _models()
    x, y = _data(4)
    arguments = {"iterations": 1, **FAST, **kwargs}
    with pytest.raises(ValueError, match=name):
        train_rl_denoiser_chain(classifier, toolbox, agent, x, y, **arguments)
    assert toolbox.trainable and classifier.trainable


def test_bad_types():
    classifier, toolbox, agent = _models()
    x, y = _data(4)
    with pytest.raises(TypeError, match="classifier"):
        train_rl_denoiser_chain(lambda v: v, toolbox, agent, x, y, iterations=1)
    with pytest.raises(TypeError, match="strengths"):
        train_rl_denoiser_chain(classifier, toolbox, agent, x, y, iterations=1, strengths=2)
    with pytest.raises(ValueError, match="y"):
        train_rl_denoiser_chain(classifier, toolbox, agent, x, y[:2], iterations=1)
