"""Seeding of Python, NumPy, TensorFlow and Keras in one call."""

import random

import numpy as np


def set_global_seed(seed):
    """Seeds Python's `random`, NumPy, TensorFlow and Keras.

    Args:
        seed: A non-negative int.

    Raises:
        TypeError: If `seed` is not an int.
        ValueError: If `seed` is negative.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"`seed` must be an int, got {type(seed).__name__}.")
    if seed < 0:
        raise ValueError(f"`seed` must be >= 0, got {seed}.")
    import keras

    random.seed(int(seed))
    np.random.seed(int(seed))
    keras.utils.set_random_seed(int(seed))
