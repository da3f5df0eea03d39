"""Layer 4: writing models to disk for others: Keras files, SavedModel, TFLite, model cards."""

from tfdefend.export.model_card import model_card
from tfdefend.export.save_keras import save_keras
from tfdefend.export.saved_model import saved_model
from tfdefend.export.tflite import QUANTIZATIONS, tflite

__all__ = ["QUANTIZATIONS", "model_card", "save_keras", "saved_model", "tflite"]
