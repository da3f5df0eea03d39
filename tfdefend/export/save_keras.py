"""Atomic `.keras` saving."""

import os

import keras

from tfdefend.utils.atomic import atomic_path


def save_keras(model, path, *, overwrite=True):
    """Saves `model` as a `.keras` file atomically (temp file + rename).

    A crash mid-save never leaves a truncated file at `path`.

    Raises:
        TypeError: If `model` is not a keras.Model.
        ValueError: If `path` does not end in ".keras".
        FileExistsError: If `path` exists and `overwrite` is False.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model, got {type(model).__name__}.")
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(f"`path` must end in '.keras', got {path!r}.")
    with atomic_path(path, overwrite=overwrite) as tmp:
        model.save(tmp)
    return path
