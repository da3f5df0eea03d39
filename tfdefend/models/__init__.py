"""Layer 1: every Keras model, the registry and the pretrained zoo."""

from tfdefend.models.bit_depth_reduction import BitDepthReduction
from tfdefend.models.comcnn import ComCNN
from tfdefend.models.comdefend import ComDefend
from tfdefend.models.defended_classifier import DefendedClassifier
from tfdefend.models.denoiser_agent import DenoiserAgent
from tfdefend.models.denoiser_toolbox import DenoiserToolbox
from tfdefend.models.denoising_autoencoder import DenoisingAutoencoder
from tfdefend.models.dncnn import DnCNN
from tfdefend.models.jpeg_compression import JPEGCompression
from tfdefend.models.light_denoiser import LightDenoiser
from tfdefend.models.load_model_or_pretrained import load_model_or_pretrained
from tfdefend.models.loading import load_model
from tfdefend.models.median_smoothing import MedianSmoothing
from tfdefend.models.mlp_classifier import MLPClassifier
from tfdefend.models.mobilenet_v2_classifier import MobileNetV2Classifier
from tfdefend.models.noise_critic import NoiseCritic
from tfdefend.models.noise_generator import NoiseGenerator
from tfdefend.models.registry import create_model, list_models, model_info, register_model
from tfdefend.models.rescnn import ResCNN
from tfdefend.models.resnet_classifier import ResNetClassifier
from tfdefend.models.rl_denoiser_chain import RLDenoiserChain
from tfdefend.models.small_cnn import SmallCNN
from tfdefend.models.uddn import UDDN
from tfdefend.models.zoo import default_pretrained, list_pretrained, load_pretrained, pretrained_info

__all__ = [
    "UDDN",
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
