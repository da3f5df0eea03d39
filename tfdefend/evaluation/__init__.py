"""Layer 4: metrics and robustness tables."""

from tfdefend.evaluation.attack_suite import attack_suite
from tfdefend.evaluation.metrics import accuracy, attack_success_rate, perturbation_norms, predict_labels
from tfdefend.evaluation.robustness_table import format_table, robustness_table

__all__ = [
    "accuracy",
    "attack_suite",
    "attack_success_rate",
    "format_table",
    "perturbation_norms",
    "predict_labels",
    "robustness_table",
]
