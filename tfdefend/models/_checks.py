"""Constructor-argument checks of the model classes: re-exported from `tfdefend.utils.validation`.

The checks live in `tfdefend.utils.validation`, the one home of argument
checks; this module only keeps the model files' imports working until they
import from there directly. New code imports from `tfdefend.utils.validation`.
"""

from tfdefend.utils.validation import (
    check_input_shape,
    check_model_kwargs,
    check_non_negative_float,
    check_num_classes,
    check_positive_float,
    check_rate,
    check_seed,
    check_units,
)

__all__ = [
    "check_input_shape",
    "check_model_kwargs",
    "check_non_negative_float",
    "check_num_classes",
    "check_positive_float",
    "check_rate",
    "check_seed",
    "check_units",
]
