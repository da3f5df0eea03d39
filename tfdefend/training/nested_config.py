"""One place where trainers serialize and restore the Keras models they wrap.

A trainer (`AdversarialTraining`, `Distiller`, `WGANGP`, ...) is a
`keras.Model` whose constructor takes other models (`classifier`,
`student`, `generator`, ...). Its config stores each of them with
`keras.saving.serialize_keras_object` under the constructor argument's name,
and `from_config` rebuilds them with `keras.saving.deserialize_keras_object`
before calling the constructor. `NestedModelTrainer` does both; a trainer
names its nested models in `NESTED_MODELS` and its other constructor
arguments in `CONFIG_KEYS` (or returns them from `trainer_config()`). The base class also creates the
trainers' metric trackers (`add_trackers`) and checks their model arguments
(`check_models`).
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


def check_models(models, *, optional=(), distinct=False):
    """Checks a trainer's model arguments.

    Args:
        models: `{argument name: value}`, in the order to check them.
        optional: Names of the arguments that may also be None.
        distinct: If True, the first two models must be different objects.

    Raises:
        TypeError: If a value is not a `keras.Model` (nor an allowed None).
        ValueError: If `distinct` and the first two models are the same.
    """
    for arg, value in models.items():
        if not isinstance(value, keras.Model) and not (arg in optional and value is None):
            raise TypeError(f"`{arg}` must be a keras.Model, got {type(value).__name__}.")
    if distinct:
        (first, a), (second, b) = list(models.items())[:2]
        if a is b:
            raise ValueError(f"`{first}` and `{second}` must be two different models.")


class NestedModelTrainer(keras.Model):
    """Base class of the trainers that wrap other Keras models: their `get_config`/`from_config`.

    Subclasses set `NESTED_MODELS` to the names of their model arguments
    and `CONFIG_KEYS` to those of their other constructor arguments (all
    stored as attributes of the same names, e.g. with `store`), or override
    `trainer_config()` returning the other constructor arguments. The
    config is `{"name", "trainable", *NESTED_MODELS, *trainer_config()}`,
    and `from_config` deserializes the nested models and calls the
    constructor with the whole config.
    """

    NESTED_MODELS = ()
    CONFIG_KEYS = ()  # the other constructor arguments, stored as attributes of the same names
    _tracker_attributes = None  # set by `add_trackers(..., own_metrics=True)`

    def add_trackers(self, means, accuracies=None, *, own_metrics=True):
        """Creates the trainer's metric trackers as attributes.

        Args:
            means: `{attribute: metric name}` of `keras.metrics.Mean` trackers.
            accuracies: `{attribute: metric name}` of
                `keras.metrics.SparseCategoricalAccuracy` trackers, created
                after the means.
            own_metrics: If True, `metrics` is these trackers, in this order;
                if False, Keras' default list.
        """
        accuracies = accuracies or {}
        for attribute, name in means.items():
            setattr(self, attribute, keras.metrics.Mean(name=name))
        for attribute, name in accuracies.items():
            setattr(self, attribute, keras.metrics.SparseCategoricalAccuracy(name=name))
        if own_metrics:
            self._tracker_attributes = tuple(means) + tuple(accuracies)

    @property
    def metrics(self):
        if self._tracker_attributes is None:
            return super().metrics
        return [getattr(self, attribute) for attribute in self._tracker_attributes]

    def metric_results(self, metrics=None):
        """`{name: result}` of `metrics` (default: all of `self.metrics`), the logs of a step."""
        return {m.name: m.result() for m in (self.metrics if metrics is None else metrics)}

    @staticmethod
    def update_trackers(pairs):
        """Updates each `(tracker, value)` of `pairs` with its value."""
        for tracker, value in pairs:
            tracker.update_state(value)

    def descend(self, tape, loss, variables, optimizer=None):
        """One step of `optimizer` (default `self.optimizer`) on `variables` along the gradient of `loss`.

        Args:
            tape: The `tf.GradientTape` that recorded `loss`.
            loss: The scalar to descend (this replica's share, see `scale_for_replicas`).
            variables: The variables to update.
            optimizer: The optimizer; None means `self.optimizer`.
        """
        (self.optimizer if optimizer is None else optimizer).apply(tape.gradient(loss, variables), variables)

    def trainer_config(self):
        """The constructor arguments other than `name`, `trainable` and the nested models.

        By default the attributes named in `CONFIG_KEYS`, in that order.
        """
        return {key: getattr(self, key) for key in self.CONFIG_KEYS}

    def store(self, **attributes):
        """Sets each keyword as the attribute of the same name (the checked constructor arguments)."""
        for name, value in attributes.items():
            setattr(self, name, value)

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        config.update(serialize_nested(self, self.NESTED_MODELS))
        config.update(self.trainer_config())
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**deserialize_nested(config, cls.NESTED_MODELS))


class OneStepTrainer(NestedModelTrainer):
    """A `NestedModelTrainer` whose `train_step` and `test_step` are one method, `_step(data, training)`."""

    def _step(self, data, training):
        """The logs of one batch; updates the weights if `training`."""
        raise NotImplementedError

    def train_step(self, data):
        return self._step(data, training=True)

    def test_step(self, data):
        return self._step(data, training=False)
