"""Layer 4: metrics and robustness tables."""

from tfdefend.evaluation.attack_suite import attack_suite
from tfdefend.evaluation.chain_choices import chain_choices
from tfdefend.evaluation.defense_table import (
    defense_table,
    format_defense_table,
    pivot_defense_table,
    plot_defense_table,
)
from tfdefend.evaluation.fgsm_reference import accuracy_at_eps_ref, fgsm_eps_ref
from tfdefend.evaluation.flops import FLOPS_METHOD, count_flops
from tfdefend.evaluation.masking_checks import masking_checks
from tfdefend.evaluation.metrics import (
    accuracy,
    attack_success_rate,
    denoising_l1,
    perturbation_norms,
    predict_labels,
)
from tfdefend.evaluation.rho2 import rho2
from tfdefend.evaluation.robustness_table import format_table, robustness_table

__all__ = [
    "FLOPS_METHOD",
    "accuracy",
    "accuracy_at_eps_ref",
    "attack_success_rate",
    "attack_suite",
    "chain_choices",
    "count_flops",
    "defense_table",
    "denoising_l1",
    "fgsm_eps_ref",
    "format_defense_table",
    "format_table",
    "masking_checks",
    "perturbation_norms",
    "pivot_defense_table",
    "plot_defense_table",
    "predict_labels",
    "rho2",
    "robustness_table",
]
