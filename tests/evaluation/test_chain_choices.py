"""Tests for chain_choices: accuracy through an RL chain and the chains it picks."""

import keras
import numpy as np
import pytest

from tfdefend.evaluation import accuracy, chain_choices
from tfdefend.models import RLDenoiserChain

SHAPE = (8, 8, 1)


def _chain(action, max_steps=2):
    chain = RLDenoiserChain({"strengths": (2, 8), "depths": (2,), "filters": 4},
                            {"conv_filters": (4,), "kernel_sizes": (3,), "fc_units": 4, "lstm_units": 4},
                            max_steps=max_steps, input_shape=SHAPE)
    layer = chain.agent.get_layer("q_values")
    kernel, bias = layer.get_weights()
    layer.set_weights([np.zeros_like(kernel), 10.0 * np.eye(len(bias), dtype="float32")[action]])
    return chain


def _classifier():
    keras.utils.set_random_seed(0)
    inputs = keras.Input(SHAPE)
    return keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs)))


def _data():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(12, *SHAPE)).astype("float32"), rng.integers(0, 3, size=12)


def test_a_fixed_policy_is_reported_as_its_chain():
    x, y = _data()
    classifier = _classifier()
    out = chain_choices(_chain(action=1), classifier, x, y, strengths=(2, 8))
    assert set(out) == {"clean", "fgsm2", "fgsm8"}
    for row in out.values():
        assert row["chains"] == {"fgsm8_depth2+fgsm8_depth2": 1.0} and row["mean_tools"] == 2.0
        assert row["stop_at_once"] == 0.0
    # An untrained tool is the identity: accuracy through the chain is the classifier's.
    assert out["clean"]["defended_accuracy"] == pytest.approx(accuracy(classifier, x, y))
    assert out["fgsm8"]["undefended_accuracy"] <= out["clean"]["undefended_accuracy"]


def test_stopping_at_once_is_reported_as_stop():
    x, y = _data()
    out = chain_choices(_chain(action=2), _classifier(), x, y, strengths=(4,))
    assert out["fgsm4"]["chains"] == {"stop": 1.0} and out["fgsm4"]["mean_tools"] == 0.0
    assert out["fgsm4"]["stop_at_once"] == 1.0
    assert out["fgsm4"]["defended_accuracy"] == out["fgsm4"]["undefended_accuracy"]


def test_bad_arguments_raise():
    x, y = _data()
    with pytest.raises(ValueError, match="top"):
        chain_choices(_chain(action=1), _classifier(), x, y, strengths=(2,), top=0)
