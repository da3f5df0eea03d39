"""Layer 4: metrics and robustness tables."""

from tfdefend.evaluation.attack_suite import attack_suite
from tfdefend.evaluation.defense_table import (
    defense_table,
    format_defense_table,
    pivot_defense_table,
    plot_defense_table,
)
from tfdefend.evaluation.metrics import accuracy, attack_success_rate, perturbation_norms, predict_labels
from tfdefend.evaluation.robustness_table import format_table, robustness_table

__all__ = [
    "accuracy",
    "attack_suite",
    "attack_success_rate",
    "defense_table",
    "format_defense_table",
    "format_table",
    "perturbation_norms",
    "pivot_defense_table",
    "plot_defense_table",
    "predict_labels",
    "robustness_table",
]
