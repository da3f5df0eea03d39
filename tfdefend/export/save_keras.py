"""Atomic `.keras` saving: `export_keras` (formerly `save_keras`)."""

import os

import keras

from tfdefend.utils.atomic import atomic_path
from tfdefend.utils.deprecation import deprecated_alias


def export_keras(model, path, *, overwrite=True, include_optimizer=True):
    """Saves `model` as a `.keras` file atomically (temp file + rename).

    A crash mid-save never leaves a truncated file at `path`.

    Args:
        model: The Keras model.
        path: Destination ending in ".keras".
        overwrite: If False and `path` exists, raises `FileExistsError`.
        include_optimizer: If False, saves an uncompiled copy (same config
            and weights) without the optimizer state, about 3x smaller for
            Adam; used for the shipped zoo weights.

    Raises:
        TypeError: If `model` is not a keras.Model.
        ValueError: If `path` does not end in ".keras".
        FileExistsError: If `path` exists and `overwrite` is False.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model, got {type(model).__name__}.")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a file path (str or os.PathLike), got {type(path).__name__}.")
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(f"`path` must end in '.keras', got {path!r}.")
    if not include_optimizer and getattr(model, "optimizer", None) is not None:
        copy = model.__class__.from_config(model.get_config())
        copy.set_weights(model.get_weights())
        model = copy
    with atomic_path(path, overwrite=overwrite) as tmp:
        model.save(tmp)
    return path


save_keras = deprecated_alias(export_keras, "save_keras")
