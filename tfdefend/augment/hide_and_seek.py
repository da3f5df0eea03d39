"""Hide-and-Seek (Singh & Lee, 2017): grid patches hidden at random."""

import keras
import tensorflow as tf

from tfdefend.augment import _base
from tfdefend.utils.validation import check_float, check_int


@keras.saving.register_keras_serializable(package="tfdefend")
class HideAndSeek(_base.ErasingLayer):
    """Splits each image into square patches and hides every patch with probability `probability`.

    Per image the patch side is drawn uniformly from `patch_sizes` (the
    paper draws from {0, 16, 32, 44, 56} on 224 px ImageNet, 0 meaning no
    hiding); patches at the right/bottom edge are cut by the image border.
    The expected erased fraction is `probability` times the share of non-zero
    patch sizes. Identity unless `training=True`.

    Args:
        patch_sizes: Int or sequence of ints >= 0, candidate patch sides in pixels.
        probability: Chance that a patch is hidden, in [0, 1] (paper: 0.5).
        fill_value: Value of hidden pixels (the paper uses the data set mean).
        seed: Int seed of the layer's `keras.random.SeedGenerator`.
        **kwargs: Passed to `keras.layers.Layer`.

    Raises:
        TypeError: Non-int patch sizes, non-numeric arguments.
        ValueError: Empty or negative `patch_sizes`, `probability` outside [0, 1].
    """

    def __init__(self, patch_sizes=(0, 4, 7, 14), probability=0.5, *, fill_value=0.0, seed=None, **kwargs):
        super().__init__(fill_value=fill_value, seed=seed, **kwargs)
        if isinstance(patch_sizes, (int,)) and not isinstance(patch_sizes, bool):
            patch_sizes = (patch_sizes,)
        if not isinstance(patch_sizes, (tuple, list)) or not patch_sizes:
            raise ValueError(f"`patch_sizes` must be an int or a non-empty sequence of ints, got {patch_sizes!r}.")
        self.patch_sizes = tuple(check_int(p, "patch_sizes", minimum=0) for p in patch_sizes)
        self.probability = check_float(probability, "probability", lo=0.0, hi=1.0)

    def _erase_mask(self, shape, seed):
        batch, height, width = shape[0], shape[1], shape[2]
        s_size, s_hide = _base.split(seed, 2)
        choice = tf.random.stateless_uniform([batch], s_size, 0, len(self.patch_sizes), dtype=tf.int32)
        size = tf.gather(tf.constant(self.patch_sizes, tf.int32), choice)
        active = size > 0
        size = tf.maximum(size, 1)[:, None, None]
        rows, cols = tf.range(height)[None, :, None], tf.range(width)[None, None, :]
        cell = (rows // size) * width + cols // size  # [B, H, W]: index of the pixel's patch
        noise = tf.random.stateless_uniform([batch, height * width], s_hide)
        hidden = tf.gather(noise, tf.reshape(cell, [batch, -1]), batch_dims=1) < self.probability
        hidden = tf.reshape(hidden, [batch, height, width, 1]) & active[:, None, None, None]
        return tf.cast(hidden, tf.float32)

    def _config(self):
        return {"patch_sizes": list(self.patch_sizes), "probability": self.probability}
