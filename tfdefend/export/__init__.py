"""Layer 4: writing models to disk for others (Keras files now; SavedModel/TFLite next)."""

from tfdefend.export.save_keras import save_keras

__all__ = ["save_keras"]
