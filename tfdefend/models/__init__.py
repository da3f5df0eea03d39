"""Layer 1: every Keras model, the registry and the pretrained zoo."""

from tfdefend.models.mlp_classifier import MLPClassifier
from tfdefend.models.mobilenet_v2_classifier import MobileNetV2Classifier
from tfdefend.models.registry import create_model, list_models, model_info, register_model
from tfdefend.models.resnet_classifier import ResNetClassifier
from tfdefend.models.small_cnn import SmallCNN

__all__ = [
    "MLPClassifier",
    "MobileNetV2Classifier",
    "ResNetClassifier",
    "SmallCNN",
    "create_model",
    "list_models",
    "model_info",
    "register_model",
]
from tfdefend.models.zoo import default_pretrained, list_pretrained, load_pretrained, pretrained_info  # noqa: E402

__all__ += ["default_pretrained", "list_pretrained", "load_pretrained", "pretrained_info"]
