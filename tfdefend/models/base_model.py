"""BaseModel: the one base class of tfdefend's Keras models (as keras-hub's `Backbone`)."""

import contextlib
import warnings

import keras

_HALF_FLOATS = ("float16", "bfloat16")
# Config keys stored under another attribute name (Keras models own `input_shape` and `output_shape`).
_ATTRIBUTES = {"input_shape": "image_shape", "output_shape": "noise_shape"}


def resolve_dtype_policy(dtype):
    """The `keras.DTypePolicy` named by `dtype`; None means the global policy.

    Args:
        dtype: None, a policy name ("float32", "mixed_float16", ...), a
            `keras.DTypePolicy`, or a serialized policy (a dict, as stored in
            a config).

    Raises:
        TypeError: If `dtype` is of another type.
        ValueError: If `dtype` names no policy.
    """
    if dtype is None:
        return keras.config.dtype_policy()
    if not isinstance(dtype, (str, dict, keras.DTypePolicy)):
        raise TypeError(f"`dtype` must be None, a str, a dict or a keras.DTypePolicy, got "
                        f"{type(dtype).__name__}.")
    try:
        return keras.dtype_policies.get(dtype)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"`dtype` must name a Keras dtype policy, got {dtype!r} ({exc}).") from None


@contextlib.contextmanager
def dtype_scope(dtype):
    """Builds the layers created inside under the policy `dtype` (None: the global policy, unchanged).

    A functional model's layers take their policy when they are created, so
    a model builds its graph inside this scope; the global policy is
    restored on exit (it is thread-local in Keras).
    """
    if dtype is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(resolve_dtype_policy(dtype))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def output_dtype(policy):
    """The dtype of a model's outputs under `policy`: float32 for a 16-bit compute dtype, else that dtype."""
    compute = resolve_dtype_policy(policy).compute_dtype
    return "float32" if compute in _HALF_FLOATS else compute


def float32_output(x, name="float32_output"):
    """Casts `x` to float32 (a weightless layer) when the current policy computes in 16 bits, else returns it.

    Mixed-precision models return float32 so that losses are computed in
    float32; in float32 models no layer is added, so their layer list (and
    saved files) stay as they were.
    """
    if keras.config.dtype_policy().compute_dtype not in _HALF_FLOATS:
        return x
    return keras.layers.Activation("linear", dtype="float32", name=name)(x)


def base_config(model):
    """The config entries every tfdefend model shares: `name`, `trainable`, the serialized `dtype` policy."""
    return {
        "name": model.name,
        "trainable": model.trainable,
        "dtype": keras.dtype_policies.serialize(model.dtype_policy),
    }


def config_kwargs(config, nested_models=()):
    """A copy of `config` with the serialized sub-models under the keys `nested_models` deserialized."""
    config = dict(config)
    for key in nested_models:
        if isinstance(config.get(key), dict):
            config[key] = keras.saving.deserialize_keras_object(config[key])
    return config


@keras.saving.register_keras_serializable(package="tfdefend")
class BaseModel(keras.Model):
    """Base class of tfdefend's functional models: name, trainable, dtype policy, config.

    As keras-hub's `Backbone`, it holds what all models share, and, like
    it, its subclasses are functional: they build a graph and call
    `super().__init__(inputs=..., outputs=..., dtype=dtype, **kwargs)`
    (Keras then puts its `Functional` class under this one, so a model
    with its own `call` derives from `ParameterFreeModel` instead). It holds:

    * `name` and `trainable` (passed to `keras.Model`);
    * the dtype policy `dtype` ("float32", "mixed_float16", a
      `keras.DTypePolicy`, ...; None is the global policy). A functional
      subclass builds its layers inside `dtype_scope(dtype)` so they compute
      in that policy, and casts its outputs with `float32_output`;
    * `get_config()` returns `name`, `trainable`, `dtype` and the arguments
      a subclass stored with `store_config` (after building its graph);
    * `from_config(config)` is `cls(**config)`, after deserializing the
      sub-models listed in the class attribute `nested_models` (config keys
      whose values are serialized `keras.Model`s). Configs saved before
      `dtype` was recorded load under the global policy.
    * `image_shape`: the (height, width, channels) of the images the model
      reads (height and width may be None for the fully convolutional
      models; None for the noise generator, which reads latent vectors),
      with the deprecated read-only alias `input_shape_`.

    Args:
        *args: Passed to `keras.Model` (e.g. `inputs=`, `outputs=`).
        dtype: The dtype policy (see above).
        **kwargs: `name` and `trainable`, passed to `keras.Model`.
    """

    nested_models = ()
    image_shape = None
    _config_keys = ()

    def __init__(self, *args, dtype=None, **kwargs):
        policy = resolve_dtype_policy(dtype)
        super().__init__(*args, **kwargs)
        if dtype is not None:
            self.dtype_policy = policy

    @property
    def output_dtype(self):
        """The outputs' dtype: float32 under a 16-bit compute dtype (mixed precision), else that dtype."""
        return output_dtype(self.dtype_policy)

    @property
    def input_shape_(self):
        """Deprecated alias of `image_shape` (read-only); it will be removed in the next release."""
        warnings.warn(f"`{type(self).__name__}.input_shape_` is deprecated; use `image_shape`.",
                      DeprecationWarning, stacklevel=2)
        return self.image_shape

    def store_config(self, **arguments):
        """Sets the checked constructor `arguments` as attributes and records them for `get_config`.

        `input_shape` is stored as `image_shape`, `output_shape` as
        `noise_shape`; the other arguments under their own names. Call it
        after `super().__init__` (Keras tracks attributes only then).

        Args:
            **arguments: The checked constructor arguments, by config key.
        """
        for key, value in arguments.items():
            setattr(self, _ATTRIBUTES.get(key, key), value)
        self._config_keys = self._config_keys + tuple(arguments)

    def get_config(self):
        """`name`, `trainable`, the serialized dtype policy `dtype` and the arguments of `store_config`.

        The sub-models named in `nested_models` are serialized.
        """
        config = base_config(self)
        for key in self._config_keys:
            value = getattr(self, _ATTRIBUTES.get(key, key))
            config[key] = keras.saving.serialize_keras_object(value) if key in self.nested_models else value
        return config

    @classmethod
    def from_config(cls, config):
        """`cls(**config)`, with the sub-models in `cls.nested_models` deserialized first."""
        return cls(**config_kwargs(config, cls.nested_models))
