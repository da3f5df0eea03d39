"""Layer 4: writing models to disk for others: Keras files, SavedModel, TFLite, model cards, app bundles."""

from tfdefend.export.app_bundle import export_app_bundle
from tfdefend.export.app_client import classify_with_bundle, read_bundle
from tfdefend.export.load_tflite import load_tflite
from tfdefend.export.model_card import model_card
from tfdefend.export.save_keras import save_keras
from tfdefend.export.saved_model import saved_model
from tfdefend.export.tflite import QUANTIZATIONS, tflite
from tfdefend.export.tflite_scores import TFLiteScores

__all__ = ["QUANTIZATIONS", "TFLiteScores", "classify_with_bundle", "export_app_bundle", "load_tflite", "model_card",
           "read_bundle", "save_keras", "saved_model", "tflite"]
