"""Layer 3: trainers (wrapping models; a model never knows how it is trained)."""

from tfdefend.training.fit_classifier import compile_classifier, fit_classifier

__all__ = ["compile_classifier", "fit_classifier"]
