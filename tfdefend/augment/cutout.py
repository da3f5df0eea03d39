"""Cutout (DeVries & Taylor, 2017): one random square per image is erased."""

import keras
import tensorflow as tf

from tfdefend.augment import _base
from tfdefend.utils.validation import check_int


@keras.saving.register_keras_serializable(package="tfdefend")
class Cutout(_base.ErasingLayer):
    """Erases one square of side `size` per image, centred on a uniformly random pixel.

    As in DeVries & Taylor's reference code, the centre can be any pixel, so
    a square near the border is cut by the image edge (the erased area is at
    most `size**2`). Identity unless called with `training=True` (inside
    `fit` Keras passes it; in a `tf.data` map call `layer(x, training=True)`).

    Args:
        size: Side of the square in pixels (int >= 0; the paper uses 16 on
            32x32 CIFAR-10, about 8-14 fits 28x28 images).
        fill_value: Value written into the square (0 = black for [0, 1] images).
        seed: Int seed of the layer's `keras.random.SeedGenerator`; the same
            seed gives the same sequence of squares.
        **kwargs: Passed to `keras.layers.Layer` (e.g. `name`).

    Raises:
        TypeError: Non-int `size` or `seed`, non-numeric `fill_value`.
        ValueError: Negative `size` or `seed`.
    """

    def __init__(self, size=8, *, fill_value=0.0, seed=None, **kwargs):
        super().__init__(fill_value=fill_value, seed=seed, **kwargs)
        self.size = check_int(size, "size", minimum=0)

    def _erase_mask(self, shape, seed):
        batch, height, width = shape[0], shape[1], shape[2]
        s_row, s_col = _base.split(seed, 2)
        cy = _base.uniform_int([batch], 0, height - 1, s_row)
        cx = _base.uniform_int([batch], 0, width - 1, s_col)
        side = tf.fill([batch], float(self.size))
        half = float(self.size // 2)
        return _base.boxes(height, width, cy - half, cx - half, side, side)

    def _config(self):
        return {"size": self.size}
