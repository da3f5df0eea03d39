"""GridMask (Chen, Liu, Wang & Jia, 2020): a regular grid of erased squares."""

import math

import keras
import tensorflow as tf

from tfdefend.augment import _base
from tfdefend.utils.validation import check_float, check_int, check_pair


@keras.saving.register_keras_serializable(package="tfdefend")
class GridMask(_base.ErasingLayer):
    """Erases a grid of squares: one square of side `round(ratio * d)` in every `d x d` unit.

    Per image: the unit `d` is drawn uniformly from the ints in `d_range`, the
    grid is shifted by a random offset in [0, d) along each axis, and rotated
    by an angle drawn from [-rotation, rotation] degrees (0 = no rotation,
    the default). The erased fraction is about `ratio**2` (exactly when `d`
    divides the image side and there is no rotation). Each image is masked
    with probability `probability`. Identity unless `training=True`.

    Args:
        d_range: `(d_min, d_max)` unit sizes in pixels (ints >= 2; a single
            int fixes d). The paper uses 24-33 px on 32x32 CIFAR-10 with
            an erased side ratio of 0.6; small images want smaller units.
        ratio: Erased side fraction of a unit, in [0, 1].
        rotation: Maximum rotation in degrees, in [0, 180].
        probability: Chance that an image is masked, in [0, 1].
        fill_value: Value of the erased pixels.
        seed: Int seed of the layer's `keras.random.SeedGenerator`.
        **kwargs: Passed to `keras.layers.Layer`.

    Raises:
        TypeError: Non-numeric arguments.
        ValueError: `d_min < 2`, `d_min > d_max`, `ratio`/`probability`
            outside [0, 1], `rotation` outside [0, 180].
    """

    def __init__(self, d_range=(4, 14), ratio=0.5, *, rotation=0.0, probability=1.0, fill_value=0.0,
                 seed=None, **kwargs):
        super().__init__(fill_value=fill_value, seed=seed, **kwargs)
        self.d_range = check_pair(d_range, "d_range", check_int, minimum=2)
        self.ratio = check_float(ratio, "ratio", lo=0.0, hi=1.0)
        self.rotation = check_float(rotation, "rotation", lo=0.0, hi=180.0)
        self.probability = check_float(probability, "probability", lo=0.0, hi=1.0)

    def _erase_mask(self, shape, seed):
        batch, height, width = shape[0], shape[1], shape[2]
        s_d, s_off, s_rot, s_apply = _base.split(seed, 4)
        d = _base.uniform_int([batch], self.d_range[0], self.d_range[1], s_d)[:, None, None, None]
        length = tf.round(self.ratio * d)
        offsets = tf.random.stateless_uniform([2, batch], s_off)[:, :, None, None, None] * d
        angle = tf.random.stateless_uniform([batch], s_rot, -1.0, 1.0) * (self.rotation * math.pi / 180.0)
        cos, sin = tf.cos(angle)[:, None, None, None], tf.sin(angle)[:, None, None, None]
        rows, cols = _base.grid(height, width)
        cy, cx = (tf.cast(height, tf.float32) - 1.0) / 2.0, (tf.cast(width, tf.float32) - 1.0) / 2.0
        u = cos * (rows - cy) + sin * (cols - cx) + cy
        v = -sin * (rows - cy) + cos * (cols - cx) + cx
        if self.rotation == 0.0:  # keep integer coordinates exact
            u, v = rows + 0.0 * cos, cols + 0.0 * cos
        erased = (tf.math.floormod(u - tf.floor(offsets[0]), d) < length) & \
                 (tf.math.floormod(v - tf.floor(offsets[1]), d) < length)
        apply = tf.random.stateless_uniform([batch], s_apply) < self.probability
        return tf.cast(erased & apply[:, None, None, None], tf.float32)

    def _config(self):
        return {"d_range": list(self.d_range), "ratio": self.ratio, "rotation": self.rotation,
                "probability": self.probability}
