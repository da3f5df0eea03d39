"""The model registry: `create_model(name, **overrides)` and `list_models()`.

Every registered model is built from keyword defaults that overrides may
replace; the parametrized tests run their shared harness over
`list_models()`, so a new model joins the harness by registering. A model
may also answer to aliases (e.g. `denoising_autoencoder` for `dae`), which
`create_model` and `model_info` accept and `list_models` does not list.
"""

import keras

_REGISTRY = {}
IMAGE_DEFAULTS = {"input_shape": (28, 28, 1)}  # MNIST-sized images
CLASSIFIER_DEFAULTS = {**IMAGE_DEFAULTS, "num_classes": 10}
# Alias -> registry name: the snake_case class name of a model registered under a shorter name.
_ALIASES = {"denoising_autoencoder": "dae"}


def register_model(name, *, defaults=None, kind="classifier", description=""):
    """Class decorator that registers a model under `name` (not an alias's), and its class with Keras.

    The class is also registered as Keras-serializable (package "tfdefend"),
    so saved models load without `custom_objects`.

    Args:
        name: Registry name (lowercase, snake_case).
        defaults: Keyword arguments used when `create_model(name)` is called
            without overrides.
        kind: What the model is: "classifier", "denoiser", ... (used by the
            export and evaluation layers to pick signatures and metrics).
        description: One line for `tfdefend models`.
    """

    def decorator(cls):
        if name in _REGISTRY or name in _ALIASES:
            raise ValueError(f"Model name {name!r} is already registered.")
        _REGISTRY[name] = {
            "cls": cls,
            "defaults": dict(defaults or {}),
            "kind": kind,
            "description": description or (cls.__doc__ or "").strip().splitlines()[0],
        }
        return keras.saving.register_keras_serializable(package="tfdefend")(cls)

    return decorator


def register_image_model(name, kind, description, defaults=IMAGE_DEFAULTS):
    """`register_model` with positional arguments; the defaults are by default `IMAGE_DEFAULTS`.

    Args:
        name: Registry name.
        kind: What the model is (see `register_model`).
        description: One line for `tfdefend models`.
        defaults: Keyword arguments of `create_model(name)` without overrides.
    """
    return register_model(name, defaults=defaults, kind=kind, description=description)


def register_classifier(name, description):
    """`register_model` of a classifier, with the defaults `CLASSIFIER_DEFAULTS` (10 classes)."""
    return register_image_model(name, "classifier", description, CLASSIFIER_DEFAULTS)


def list_models(kind=None):
    """Returns the sorted registered model names, optionally of one `kind`."""
    return sorted(name for name, entry in _REGISTRY.items() if kind is None or entry["kind"] == kind)


def model_info(name):
    """Returns the registry entry for `name` (class, defaults, kind, description)."""
    entry = _REGISTRY[_check_name(name)]
    return {**entry, "defaults": dict(entry["defaults"])}


def create_model(name, /, **overrides):
    """Builds the registered model `name` with its defaults updated by `overrides`.

    Raises:
        ValueError: If `name` is unknown (the message lists the known names).
        TypeError: If an override is not a constructor argument.
    """
    entry = _REGISTRY[_check_name(name)]
    return entry["cls"](**{**entry["defaults"], **overrides})


def _check_name(name):
    """The registry name of `name` (itself, or the model an alias stands for); ValueError if unknown."""
    if isinstance(name, str) and name in _ALIASES:
        return _ALIASES[name]
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"Unknown model name {name!r}; known models: {', '.join(list_models())}.")
    return name
