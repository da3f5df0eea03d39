"""Seeding of Python, NumPy, TensorFlow and Keras in one call, and TF op determinism."""

import random
import warnings

import numpy as np

from tfdefend.utils.validation import check_seed

_MAX_SEED = 2 ** 31 - 1


def set_seed(seed, *, deterministic=True):
    """Makes a run repeatable: seeds every random source and turns on TF op determinism.

    Seeds Python's `random`, NumPy's global RNG, TensorFlow's global seed and
    Keras (`keras.utils.set_random_seed`, which covers the three). Everything
    in tfdefend that draws without an explicit seed draws from these: Keras
    `SeedGenerator`s (dropout, noise layers, augmentations, trainers),
    `Model.fit(shuffle=True)`, and the attacks' random starts and targets
    when their `seed` is None (see `draw_seed`). With `deterministic=True`
    it also calls `tf.config.experimental.enable_op_determinism()`, so ops
    with several kernels or parallel reductions pick the deterministic one
    and tf.data keeps its order: on CPU, the same seed then gives bit-for-bit
    identical attacks and training runs.

    Op determinism is **process-global and one-way**: TensorFlow has no
    public switch to turn it off again, it stays on for every later model,
    attack and dataset in the process, and it can make some ops slower (or
    raise `UnimplementedError` for the few that have no deterministic kernel,
    mostly on GPU). Call it once at the start of a script; tests that need it
    should run in a subprocess. `PYTHONHASHSEED` cannot be set from inside a
    running interpreter; nothing in tfdefend depends on string hashing order.

    Args:
        seed: An int in `[0, 2**32)`.
        deterministic: Whether to enable TF op determinism (see above). With
            False only the seeds are set and op determinism is left as it is.

    Raises:
        TypeError: If `seed` is not an int or `deterministic` not a bool.
        ValueError: If `seed` is out of range.
    """
    seed = check_seed(seed, allow_none=False)
    if not isinstance(deterministic, bool):
        raise TypeError(f"`deterministic` must be a bool, got {type(deterministic).__name__}.")
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    if deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def set_global_seed(seed):
    """Deprecated alias of `set_seed(seed, deterministic=False)`; warns with DeprecationWarning.

    Seeds Python's `random`, NumPy, TensorFlow and Keras (no op
    determinism): repeatable random draws, but TensorFlow ops may still pick
    nondeterministic kernels. Call `set_seed(seed, deterministic=False)`
    instead.

    Args:
        seed: An int in `[0, 2**32)`.

    Raises:
        TypeError: If `seed` is not an int.
        ValueError: If `seed` is out of range.
    """
    warnings.warn("`set_global_seed(seed)` is deprecated; use `set_seed(seed, deterministic=False)`.",
                  DeprecationWarning, stacklevel=2)
    set_seed(seed, deterministic=False)


def draw_seed():
    """A random int seed in `[0, 2**31 - 1)` drawn from NumPy's global RNG.

    What a function with `seed=None` uses instead of OS entropy, so that
    `set_seed` makes its randomness repeatable while it stays random
    otherwise.
    """
    return int(np.random.randint(0, _MAX_SEED))
