"""Tests of `tfdefend.training.nested_config`: one get_config/from_config for the trainers' nested models."""

import keras
import numpy as np

from tfdefend.training.nested_config import NestedModelTrainer, deserialize_nested, serialize_nested


def _dense(units, name):
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(units)(inputs), name=name)


class _Pair(NestedModelTrainer):
    NESTED_MODELS = ("first", "second")

    def __init__(self, first, second=None, *, weight=1.0, **kwargs):
        super().__init__(**kwargs)
        self.first, self.second, self.weight = first, second, weight

    def trainer_config(self):
        return {"weight": self.weight}


def test_config_holds_name_trainable_the_nested_models_and_the_trainer_arguments():
    trainer = _Pair(_dense(2, "first"), None, weight=0.5, name="pair", trainable=False)
    config = trainer.get_config()
    assert set(config) == {"name", "trainable", "first", "second", "weight"}
    assert config["second"] is None and config["weight"] == 0.5 and config["trainable"] is False
    assert config["first"] == keras.saving.serialize_keras_object(trainer.first)


def test_from_config_rebuilds_the_nested_models():
    first, second = _dense(2, "first"), _dense(4, "second")
    restored = _Pair.from_config(_Pair(first, second, weight=2.0, name="pair").get_config())
    assert isinstance(restored.first, keras.Model) and restored.first is not first
    assert restored.second.output_shape == (None, 4) and restored.weight == 2.0 and restored.name == "pair"
    x = np.ones((1, 3), np.float32)
    assert restored.first(x).shape == (1, 2)


def test_helpers_leave_missing_and_none_entries_and_do_not_change_the_input():
    model = _dense(2, "m")
    holder = type("Holder", (), {"a": model, "b": None})()
    config = serialize_nested(holder, ("a", "b"))
    assert config["b"] is None
    restored = deserialize_nested(config, ("a", "b", "c"))
    assert isinstance(restored["a"], keras.Model) and restored["b"] is None and "c" not in restored
    assert isinstance(config["a"], dict)
