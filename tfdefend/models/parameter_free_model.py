"""ParameterFreeModel: the base class of the weightless models that apply an image op in `call`."""

import keras

from tfdefend.models.base_model import base_config, config_kwargs, output_dtype, resolve_dtype_policy


@keras.saving.register_keras_serializable(package="tfdefend")
class ParameterFreeModel(keras.Model):
    """Base class of the models without weights and without a graph (JPEG, bit depth, median).

    `BaseModel`'s counterpart for models that define `call` (Keras turns
    `BaseModel` into a functional class, which such a model cannot be). It
    holds the same: `name`, `trainable`, the dtype policy `dtype`, and the
    shared `get_config` (`name`, `trainable`, `dtype`; subclasses add their
    arguments) and `from_config` (`cls(**config)`). These models work on
    images of any shape, so `image_shape` is None; their outputs are
    float32.

    Args:
        dtype: The dtype policy ("float32", "mixed_float16", a
            `keras.DTypePolicy`; None: the global policy).
        **kwargs: `name` and `trainable`, passed to `keras.Model`.
    """

    image_shape = None

    def __init__(self, dtype=None, **kwargs):
        policy = resolve_dtype_policy(dtype)
        # The image ops compute in float32: under a 16-bit policy, inputs are not cast down first.
        super().__init__(dtype=policy if dtype is not None else None,
                         autocast=output_dtype(policy) == policy.compute_dtype, **kwargs)
        self.built = True  # no weights: nothing to build

    @property
    def output_dtype(self):
        """float32 under a 16-bit compute dtype (mixed precision), else the compute dtype."""
        return output_dtype(self.dtype_policy)

    def get_config(self):
        """`name`, `trainable` and the serialized dtype policy `dtype`; subclasses add their arguments."""
        return base_config(self)

    @classmethod
    def from_config(cls, config):
        """`cls(**config)`."""
        return cls(**config_kwargs(config))
