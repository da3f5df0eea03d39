"""Tests of `tfdefend.utils.distribute` that need no second device (see
`tests/training/test_distributed_training.py` for MirroredStrategy and multi-worker training)."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdefend.utils import distribute
from tfdefend.utils.distribute import (
    chief_output_path,
    get_strategy,
    global_mean,
    is_chief,
    replica_rows,
    scale_for_replicas,
)
from tfdefend.utils.synchronize_batch_norm import synchronize_batch_norm

CLUSTER = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}


def _set_config(monkeypatch, config):
    monkeypatch.setenv("TF_CONFIG", config if isinstance(config, str) else json.dumps(config))


def test_default_strategy_is_the_current_one():
    assert get_strategy() is tf.distribute.get_strategy()
    assert get_strategy("default").num_replicas_in_sync == 1


@pytest.mark.parametrize("name", ["gpu", "Mirrored", "", "tpu"])
def test_unknown_strategy_names_the_choices(name):
    with pytest.raises(ValueError, match="default.*mirrored.*multiworker"):
        get_strategy(name)


def test_strategy_name_must_be_a_string():
    with pytest.raises(TypeError, match="`name`"):
        get_strategy(None)


@pytest.mark.parametrize("config, message", [
    (None, "needs the TF_CONFIG"),
    ("{not json", "not valid JSON"),
    ({"task": {"type": "worker", "index": 0}}, "'cluster'"),
    ({"cluster": {"ps": ["h:1"]}, "task": {"type": "ps", "index": 0}}, "'worker'"),
    ({"cluster": CLUSTER}, "'task'"),
    ({"cluster": CLUSTER, "task": {"type": "evaluator", "index": 0}}, "'task'"),
    ({"cluster": CLUSTER, "task": {"type": "worker", "index": 2}}, "index"),
    ({"cluster": {"worker": "h:1"}, "task": {"type": "worker", "index": 0}}, "'cluster'"),
])
def test_multiworker_needs_a_valid_tf_config(monkeypatch, config, message):
    if config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        _set_config(monkeypatch, config)
    monkeypatch.setattr(distribute, "_CREATED", {})
    with pytest.raises(ValueError, match=message):
        get_strategy("multiworker")


def test_is_chief_from_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert is_chief()
    _set_config(monkeypatch, {"cluster": CLUSTER, "task": {"type": "worker", "index": 0}})
    assert is_chief()
    _set_config(monkeypatch, {"cluster": CLUSTER, "task": {"type": "worker", "index": 1}})
    assert not is_chief()
    with_chief = {"chief": ["127.0.0.1:3"], **CLUSTER}
    _set_config(monkeypatch, {"cluster": with_chief, "task": {"type": "worker", "index": 0}})
    assert not is_chief()
    _set_config(monkeypatch, {"cluster": with_chief, "task": {"type": "chief", "index": 0}})
    assert is_chief()
    assert is_chief(tf.distribute.get_strategy())  # one-machine strategies always write


def test_chief_output_path(monkeypatch, tmp_path):
    target = str(tmp_path / "model.keras")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with chief_output_path(target) as path:
        assert path == target
    _set_config(monkeypatch, {"cluster": CLUSTER, "task": {"type": "worker", "index": 1}})
    with chief_output_path(target) as path:
        assert os.path.basename(path) == "model.keras" and os.path.dirname(path) != str(tmp_path)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("x")
    assert not os.path.exists(os.path.dirname(path))
    assert os.listdir(tmp_path) == []


def test_one_replica_helpers_are_plain_means():
    per_example = tf.constant([[1.0, 3.0], [2.0, 2.0], [6.0, 0.0]])
    weights = tf.constant([1.0, 0.0, 2.0])
    assert float(global_mean(per_example)) == pytest.approx(14.0 / 6.0)
    assert float(global_mean(per_example, weights)) == pytest.approx((2.0 + 6.0) / 3.0)
    assert float(scale_for_replicas(tf.constant(2.5), 4)) == 2.5
    assert float(scale_for_replicas(2.5)) == 2.5
    draw = replica_rows(lambda n: tf.range(n * 2), 3)
    np.testing.assert_array_equal(draw, np.arange(6))


def test_synchronize_batch_norm_counts_nested_layers():
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), keras.layers.BatchNormalization()])
    outer = keras.Sequential([keras.Input((4,)), inner, keras.layers.BatchNormalization(), keras.layers.Dense(1)])
    assert synchronize_batch_norm(outer) == 2
    assert all(layer.synchronized for layer in outer._flatten_layers()
               if isinstance(layer, keras.layers.BatchNormalization))
    with pytest.raises(TypeError, match="`model`"):
        synchronize_batch_norm("model")


def test_cli_strategy_option(monkeypatch, tmp_path, capsys):
    from tfdefend.cli.main import main

    for command in (["train", "--output", "m.keras"], ["train-uddn", "--classifier", "c", "--output", "u.keras"],
                    ["train-rl-chain", "--classifier", "c", "--output", "r.keras"]):
        with pytest.raises(SystemExit):
            main([*command, "--strategy", "tpu"])
        assert "invalid choice: 'tpu'" in capsys.readouterr().err
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.setattr(distribute, "_CREATED", {})
    code = main(["train", "--model", "small_cnn", "--dataset", "digits", "--no-backup", "--strategy",
                 "multiworker", "--output", str(tmp_path / "m.keras")])
    assert code == 2
    assert "TF_CONFIG" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []
