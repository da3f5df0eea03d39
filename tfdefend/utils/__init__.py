"""Layer 0: input validation, atomic file writes, seeding, hashing, tf.distribute helpers."""

from tfdefend.utils.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from tfdefend.utils.calling import call_model
from tfdefend.utils.distribute import (
    chief_output_path,
    get_strategy,
    global_mean,
    is_chief,
    replica_rows,
    scale_for_replicas,
)
from tfdefend.utils.hashing import sha256_file
from tfdefend.utils.seeding import draw_seed, set_global_seed, set_seed
from tfdefend.utils.synchronize_batch_norm import synchronize_batch_norm
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
    "chief_output_path",
    "draw_seed",
    "get_strategy",
    "global_mean",
    "is_chief",
    "replica_rows",
    "scale_for_replicas",
    "set_global_seed",
    "set_seed",
    "sha256_file",
    "synchronize_batch_norm",
]
