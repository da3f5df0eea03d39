"""Shared private machinery of the information-dropping augmentation layers.

* Argument checks that raise `TypeError`/`ValueError` naming the argument.
* `ErasingLayer`: the common Keras layer behaviour (identity unless
  `training=True`, a `keras.random.SeedGenerator` drawn once per call,
  `erased = images * (1 - region) + fill_value * region`), so each concrete
  layer only writes `_erase_mask(shape, seed) -> [B, H, W, 1]` float 0/1.
* Coordinate helpers for building batched rectangle masks without loops.
"""

import numbers

import keras
import numpy as np
import tensorflow as tf

# --------------------------------------------------------------------------- argument checks


def check_int(value, name, *, minimum=0):
    """An int >= `minimum` (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}.")
    return int(value)


def check_float(value, name, *, lo=0.0, hi=1.0):
    """A finite real number in [lo, hi] (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.generic)):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__}.")
    value = float(value)
    if not np.isfinite(value) or not lo <= value <= hi:
        raise ValueError(f"`{name}` must lie in [{lo}, {hi}], got {value}.")
    return value


def check_pair(pair, name, check, **kwargs):
    """A `(min, max)` pair whose items pass `check(item, name, **kwargs)` and with min <= max.

    A single number `v` means `(v, v)`.
    """
    if isinstance(pair, (numbers.Number, np.generic)) and not isinstance(pair, bool):
        pair = (pair, pair)
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise TypeError(f"`{name}` must be a (min, max) pair, got {pair!r}.")
    lo, hi = (check(v, name, **kwargs) for v in pair)
    if lo > hi:
        raise ValueError(f"`{name}` must satisfy min <= max, got {tuple(pair)}.")
    return lo, hi


def check_seed(seed):
    """An int >= 0 or None."""
    if seed is None:
        return None
    return check_int(seed, "seed")


def check_image_batch(images, name="images"):
    """A float32 tensor of rank 4 ([batch, height, width, channels])."""
    images = tf.convert_to_tensor(images)
    if not (images.dtype.is_floating or images.dtype.is_integer):
        raise TypeError(f"`{name}` must be numeric, got dtype {images.dtype.name}.")
    if images.shape.rank != 4:
        raise ValueError(f"`{name}` must have rank 4 ([batch, height, width, channels]), "
                         f"got shape {tuple(images.shape)}.")
    return tf.cast(images, tf.float32)


# --------------------------------------------------------------------------- masks


def grid(height, width):
    """Row and column index tensors, float32, shaped [1, H, W, 1] for broadcasting."""
    rows = tf.cast(tf.range(height), tf.float32)[None, :, None, None]
    cols = tf.cast(tf.range(width), tf.float32)[None, None, :, None]
    return rows, cols


def boxes(height, width, top, left, box_h, box_w):
    """[B, H, W, 1] float 0/1: rows [top, top+box_h) x cols [left, left+box_w), clipped to the image.

    All box arguments are float tensors of shape [B].
    """
    rows, cols = grid(height, width)
    top, left = top[:, None, None, None], left[:, None, None, None]
    inside = ((rows >= top) & (rows < top + box_h[:, None, None, None])
              & (cols >= left) & (cols < left + box_w[:, None, None, None]))
    return tf.cast(inside, tf.float32)


def uniform_int(shape, lo, hi, seed):
    """Stateless uniform ints in [lo, hi] (inclusive; `lo`, `hi` broadcastable) as float32."""
    u = tf.random.stateless_uniform(shape, seed)
    lo = tf.cast(lo, tf.float32)
    span = tf.cast(hi, tf.float32) - lo + 1.0
    return tf.minimum(tf.floor(lo + u * span), tf.cast(hi, tf.float32))


def split(seed, n):
    """`n` independent [2] seeds from one."""
    return tf.unstack(tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), n))


class ErasingLayer(keras.layers.Layer):
    """Base class: erases a random region per image when `training=True`.

    Subclasses implement `_erase_mask(shape, seed)` (a [B, H, W, 1] float
    0/1 mask, 1 = erased) and `_config()` (their own constructor arguments).
    """

    def __init__(self, *, fill_value=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(fill_value, bool) or not isinstance(fill_value, (numbers.Real, np.generic)):
            raise TypeError(f"`fill_value` must be a real number, got {type(fill_value).__name__}.")
        self.fill_value = float(fill_value)
        self.seed = check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.supports_masking = False

    def _erase_mask(self, shape, seed):
        raise NotImplementedError

    def _config(self):
        return {}

    def erase_mask(self, images, seed=None):
        """The [B, H, W, 1] 0/1 region this layer would erase (advances the generator when `seed` is None).

        Args:
            images: Image batch [B, H, W, C] (only its shape is used).
            seed: Optional [2] int seed (or an int) for a reproducible draw.
        """
        images = check_image_batch(images)
        return self._erase_mask(tf.shape(images), self._seed(seed))

    def _seed(self, seed):
        if seed is None:
            return tf.cast(self.seed_generator.next(), tf.int64)
        if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
            return tf.constant([int(seed), 0], tf.int64)
        return tf.cast(seed, tf.int64)

    def call(self, inputs, training=None):
        images = check_image_batch(inputs)
        if not training:
            return tf.identity(images)
        region = self._erase_mask(tf.shape(images), self._seed(None))
        return images * (1.0 - region) + self.fill_value * region

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"fill_value": self.fill_value, "seed": self.seed, **self._config()})
        return config
