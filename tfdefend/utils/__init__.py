"""Layer 0: input validation, atomic file writes, seeding, hashing."""

from tfdefend.utils.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from tfdefend.utils.calling import call_model
from tfdefend.utils.hashing import sha256_file
from tfdefend.utils.seeding import set_global_seed
from tfdefend.utils.validation import (
    check_batch_images,
    check_clip,
    check_eps,
    check_labels,
    check_norm,
    check_positive_int,
)

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "call_model",
    "check_batch_images",
    "check_clip",
    "check_eps",
    "check_labels",
    "check_norm",
    "check_positive_int",
    "set_global_seed",
    "sha256_file",
]
