"""Input checks that raise clear `TypeError`/`ValueError`s: the one home of argument checks.

Every public entry point validates its arguments here, so the messages name
the argument and say what was expected. Never `assert` for input checks.
Each check returns the normalized value (a Python float, int, tuple or a
float32 tensor). Groups: numbers (`check_float`, `check_int`,
`check_positive_int`, `check_pair`, `check_seed`, ...), choices and
attack budgets (`check_choice`, `check_norm`, `check_clip`, `check_eps`),
model constructor arguments (`check_input_shape`, `check_num_classes`,
`check_units`, `check_model_kwargs`) and tensors (`check_batch_images`,
`check_image_batch`, `check_labels`).
"""

from tfdefend.utils.validation.models_and_arrays import (  # noqa: F401
    check_input_shape,
    check_num_classes,
    check_units,
    check_model_kwargs,
    check_batch_images,
    check_image_batch,
    check_labels,
)
from tfdefend.utils.validation.scalars import (  # noqa: F401
    MAX_INT32,
    check_norm,
    check_clip,
    check_float,
    check_positive_float,
    check_non_negative_float,
    check_rate,
    check_eps,
    check_choice,
    check_int,
    check_positive_int,
    check_pair,
    check_seed,
)

__all__ = [
    "MAX_INT32",
    "check_batch_images",
    "check_choice",
    "check_clip",
    "check_eps",
    "check_float",
    "check_image_batch",
    "check_input_shape",
    "check_int",
    "check_labels",
    "check_model_kwargs",
    "check_non_negative_float",
    "check_norm",
    "check_num_classes",
    "check_pair",
    "check_positive_float",
    "check_positive_int",
    "check_rate",
    "check_seed",
    "check_units",
]
