"""Layer 3: trainers (wrapping models; a model never knows how it is trained)."""

from tfdefend.training.fit_classifier import compile_classifier, fit_classifier
from tfdefend.training.fit_preprocessor import fit_preprocessor, reconstruction_error

__all__ = ["compile_classifier", "fit_classifier", "fit_preprocessor", "reconstruction_error"]
