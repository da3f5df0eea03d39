"""Layer 1: every Keras model, the registry and the pretrained zoo.

Importing this package imports every model class, which registers them
with the registry and with Keras (so `keras.saving.load_model` reads our
`.keras` files after a plain `import tfdefend.models`). The command line
imports it in lazy mode (`tfdefend._LAZY_MODELS`, set by `tfdefend.cli`),
where it does not import TensorFlow or Keras: the zoo readers (`list_pretrained`, `pretrained_info`, `default_pretrained`) and
the loaders (`load_model`, `load_pretrained`, `load_model_or_pretrained`)
are plain imports that start TensorFlow only when a model is loaded, and
the model classes and registry functions (`create_model`, `list_models`,
...) are imported on first use (PEP 562). The first of those imports
every model module, which registers all classes with the registry and
with Keras (for deserialization), so `from tfdefend.models import
create_model` works as before. `tfdefend.models.model_index` lists the
registered names without importing TensorFlow (`tfdefend models`).
"""

import importlib

from tfdefend.models.load_model_or_pretrained import load_model_or_pretrained
from tfdefend.models.loading import load_model
from tfdefend.models.zoo import default_pretrained, list_pretrained, load_pretrained, pretrained_info

_LAZY = {  # public name -> the submodule that defines it; all are imported together
    "BaseModel": "base_model",
    "BitDepthReduction": "bit_depth_reduction",
    "ComCNN": "comcnn",
    "ComDefend": "comdefend",
    "DefendedClassifier": "defended_classifier",
    "DenoiserAgent": "denoiser_agent",
    "DenoiserToolbox": "denoiser_toolbox",
    "DenoisingAutoencoder": "denoising_autoencoder",
    "DnCNN": "dncnn",
    "JPEGCompression": "jpeg_compression",
    "LightDenoiser": "light_denoiser",
    "MedianSmoothing": "median_smoothing",
    "MLPClassifier": "mlp_classifier",
    "MobileNetV2Classifier": "mobilenet_v2_classifier",
    "NoiseCritic": "noise_critic",
    "NoiseGenerator": "noise_generator",
    "ParameterFreeModel": "parameter_free_model",
    "create_model": "registry",
    "list_models": "registry",
    "model_info": "registry",
    "register_model": "registry",
    "ResCNN": "rescnn",
    "ResNetClassifier": "resnet_classifier",
    "RLDenoiserChain": "rl_denoiser_chain",
    "SmallCNN": "small_cnn",
    "UDDN": "uddn",
}

__all__ = [
    "UDDN",
    "BaseModel",
    "BitDepthReduction",
    "ComCNN",
    "ComDefend",
    "DefendedClassifier",
    "DenoiserAgent",
    "DenoiserToolbox",
    "DenoisingAutoencoder",
    "DnCNN",
    "JPEGCompression",
    "LightDenoiser",
    "MLPClassifier",
    "MedianSmoothing",
    "MobileNetV2Classifier",
    "NoiseCritic",
    "NoiseGenerator",
    "ParameterFreeModel",
    "RLDenoiserChain",
    "ResCNN",
    "ResNetClassifier",
    "SmallCNN",
    "create_model",
    "default_pretrained",
    "list_models",
    "list_pretrained",
    "load_model",
    "load_model_or_pretrained",
    "load_pretrained",
    "model_info",
    "pretrained_info",
    "register_model",
]


def _import_all():
    """Imports every model module (registering its classes) and binds the public names here."""
    for name, module in _LAZY.items():
        globals()[name] = getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __getattr__(name):
    if name in _LAZY:
        _import_all()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


import tfdefend as _tfdefend  # noqa: E402 - the mode is read once the lazy machinery exists

if not _tfdefend._LAZY_MODELS:
    _import_all()
