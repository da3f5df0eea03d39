"""Layer 1: every Keras model, the registry and the pretrained zoo."""

from tfdefend.models.registry import create_model, list_models, model_info, register_model
from tfdefend.models.small_cnn import SmallCNN

__all__ = [
    "SmallCNN",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
]
