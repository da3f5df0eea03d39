"""Layer 4: writing models to disk for others: Keras files, SavedModel, TFLite, model cards, app bundles.

The writers are verbs named `export_<format>`: `export_keras`, `export_saved_model`, `export_tflite`,
`export_app_bundle`. The earlier names `save_keras`, `saved_model` and `tflite` remain for one release
as deprecated aliases that warn with `DeprecationWarning`.
"""

from tfdefend.export.app_bundle import export_app_bundle
from tfdefend.export.app_client import classify_with_bundle, read_bundle
from tfdefend.export.load_tflite import load_tflite
from tfdefend.export.model_card import model_card
from tfdefend.export.save_keras import export_keras, save_keras
from tfdefend.export.saved_model import export_saved_model, saved_model
from tfdefend.export.tflite import QUANTIZATIONS, export_tflite, tflite
from tfdefend.export.tflite_scores import TFLiteScores

__all__ = ["QUANTIZATIONS", "TFLiteScores", "classify_with_bundle", "export_app_bundle", "export_keras",
           "export_saved_model", "export_tflite", "load_tflite", "model_card", "read_bundle",
           "save_keras", "saved_model", "tflite"]  # the last three: deprecated aliases
