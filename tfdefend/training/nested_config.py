"""One place where trainers serialize and restore the Keras models they wrap.

A trainer (`AdversarialTraining`, `Distiller`, `WGANGP`, ...) is a
`keras.Model` whose constructor takes other models (`classifier`,
`student`, `generator`, ...). Its config stores each of them with
`keras.saving.serialize_keras_object` under the constructor argument's name,
and `from_config` rebuilds them with `keras.saving.deserialize_keras_object`
before calling the constructor. `NestedModelTrainer` does both; a trainer
names its nested models in `NESTED_MODELS` and returns its other constructor
arguments from `trainer_config()`.
"""

import keras


def serialize_nested(owner, keys):
    """The serialized sub-models of `owner`, one per attribute name in `keys`.

    Args:
        owner: The object holding the models as attributes (a trainer).
        keys: Attribute names, also the config keys (the constructor
            arguments) they are stored under.

    Returns:
        A dict `{key: serialized model}`; a None attribute stays None (an
        optional model that was not given).
    """
    config = {}
    for key in keys:
        model = getattr(owner, key)
        config[key] = None if model is None else keras.saving.serialize_keras_object(model)
    return config


def deserialize_nested(config, keys):
    """A copy of `config` with the sub-models under `keys` deserialized.

    Args:
        config: A config dict written by `serialize_nested` (plus other keys).
        keys: The config keys holding serialized models; a missing or None
            entry is left as it is.

    Returns:
        A new dict; `config` itself is not changed.
    """
    config = dict(config)
    for key in keys:
        if config.get(key) is not None:
            config[key] = keras.saving.deserialize_keras_object(config[key])
    return config


class NestedModelTrainer(keras.Model):
    """Base class of the trainers that wrap other Keras models: their `get_config`/`from_config`.

    Subclasses set `NESTED_MODELS` to the names of their model arguments
    (stored as attributes of the same names) and implement
    `trainer_config()` returning their other constructor arguments. The
    config is `{"name", "trainable", *NESTED_MODELS, *trainer_config()}`,
    and `from_config` deserializes the nested models and calls the
    constructor with the whole config.
    """

    NESTED_MODELS = ()

    def trainer_config(self):
        """The constructor arguments other than `name`, `trainable` and the nested models."""
        return {}

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        config.update(serialize_nested(self, self.NESTED_MODELS))
        config.update(self.trainer_config())
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**deserialize_nested(config, cls.NESTED_MODELS))
