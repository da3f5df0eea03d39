"""Shared private machinery of the information-dropping augmentation layers.

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

from tfdefend.utils.validation import check_image_batch, check_seed

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
