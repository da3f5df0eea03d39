"""`load_model`: the one safe way to load a user's `.keras` file.

Keras's own `keras.models.load_model` answers a truncated or corrupted file
with "File not found" and loads any layer its `safe_mode` lets through.
Every `.keras` file tfdefend loads (the zoo, `tfdefend evaluate
--model-file`, `train-uddn`/`train-rl-chain --classifier FILE`, `app export
--model`) goes through `load_model`, which

- checks that the file exists and is a complete `.keras` zip archive (every
  member's CRC is verified, so a truncated or bit-flipped file is refused
  before Keras reads it), with `config.json` and weights inside;
- refuses, in safe mode (the default), a model holding a
  `keras.layers.Lambda` layer, whatever Keras would do with it: a Lambda
  layer is Python code, and loading it runs that code. tfdefend's own
  models never need one (their custom layers are registered classes);
- raises `ValueError` naming the file for anything Keras cannot load.

`safe_mode=False` must be passed explicitly to load a file that holds code;
do that only for files you made yourself or trust.
"""

import json
import os
import zipfile
import zlib

CONFIG_FILE = "config.json"
_WEIGHTS_FILES = ("model.weights.h5", "model.weights.npz")


def _check_path(path):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a file path (str or os.PathLike), got {type(path).__name__}.")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file {path!r} does not exist or is not a file.")
    if not path.endswith(".keras"):
        raise ValueError(f"Model file {path!r} must be a '.keras' file (Keras 3 format), got another "
                         "extension.")
    return path


def _read_config(path):
    """The parsed `config.json` of the `.keras` archive at `path`, after a full CRC check of the archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise ValueError(f"member {bad!r} fails its CRC check")
            names = set(archive.namelist())
            if CONFIG_FILE not in names or not names & set(_WEIGHTS_FILES):
                raise ValueError(f"it lacks {CONFIG_FILE} or the weights file")
            config = json.loads(archive.read(CONFIG_FILE).decode("utf-8"))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, EOFError, OSError,
            UnicodeDecodeError, ValueError) as exc:  # ValueError covers json.JSONDecodeError
        raise ValueError(f"Model file {path!r} is not a valid .keras archive (truncated or corrupted?): "
                         f"{exc}.") from None
    if not isinstance(config, dict):
        message = f"Model file {path!r} is not a valid .keras archive: its {CONFIG_FILE} is not an object."
        raise ValueError(message)  # noqa: TRY004 - a corrupted file, not a wrong argument type
    return config


def _lambda_layers(config):
    """Names of the `Lambda` layers anywhere in a Keras config."""
    found = []
    if isinstance(config, dict):
        if config.get("class_name") == "Lambda":
            found.append(str((config.get("config") or {}).get("name", "?")))
        for value in config.values():
            found += _lambda_layers(value)
    elif isinstance(config, list):
        for value in config:
            found += _lambda_layers(value)
    return found


def load_model(path, *, safe_mode=True, compile=False):
    """Loads a `.keras` model file safely.

    Args:
        path: The `.keras` file.
        safe_mode: True (the default) refuses files that hold Python code
            (a `Lambda` layer, a serialized lambda). Pass `safe_mode=False`
            explicitly, and only for a file you trust, to load such a file.
        compile: Passed to `keras.models.load_model`.

    Returns:
        The Keras model.

    Raises:
        FileNotFoundError: If `path` does not exist.
        TypeError: If `path` is not a path or `safe_mode` not a bool.
        ValueError: A file that is not a complete `.keras` archive
            (truncated, corrupted, another format), a `Lambda` layer in
            safe mode (the message says how to opt out), or any other file
            Keras cannot load (the message names the file).
    """
    import keras

    from tfdefend.models import register_model  # noqa: F401 - imports (registers) every model class

    if not isinstance(safe_mode, bool):
        raise TypeError(f"`safe_mode` must be True or False, got {safe_mode!r}.")
    path = _check_path(path)
    config = _read_config(path)
    lambdas = _lambda_layers(config)
    if safe_mode and lambdas:
        raise ValueError(_unsafe_message(path, f"a Lambda layer ({', '.join(lambdas)})"))
    try:
        return keras.models.load_model(path, compile=compile, safe_mode=safe_mode)
    except Exception as exc:  # Keras raises many types for a file it cannot read
        text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        if safe_mode and "safe_mode" in str(exc):
            raise ValueError(_unsafe_message(path, "Python code (a serialized function)")) from None
        raise ValueError(f"Cannot load model file {path!r}: {type(exc).__name__}: {text}") from exc


def _unsafe_message(path, what):
    return (f"Model file {path!r} holds {what}, which runs arbitrary Python code when loaded; it is refused "
            "in safe mode (the default, and always on the `tfdefend` command line). If you made the file "
            "yourself or trust it, load it in Python with `tfdefend.models.load_model(path, safe_mode=False)`.")
