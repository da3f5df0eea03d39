"""Median smoothing, the spatial-smoothing feature squeezer of Xu et al. (NDSS 2018)."""

import tensorflow as tf

from tfdefend.utils.validation import check_model_kwargs, check_positive_int
from tfdefend.models.parameter_free_model import ParameterFreeModel
from tfdefend.models.registry import register_image_model


@register_image_model(
    "median", "preprocessor", "Median smoothing (feature squeezing): size x size median filter per channel.",
    defaults={"size": 2})
class MedianSmoothing(ParameterFreeModel):
    """Replaces each pixel by the median of its `size x size` window, per channel.

    The output has the input's shape: the image is padded symmetrically
    (edge pixels repeated, like `scipy.ndimage.median_filter`'s default), with
    `(size - 1) // 2` rows/columns before and the rest after, so an even
    window (2x2, Xu et al.'s MNIST setting) reaches down and right. For an
    even window the median is the mean of the two middle values. Built from
    `tf.image.extract_patches` and `tf.math.top_k`; the gradient flows to the
    pixel(s) that are the median, so the defense is differentiable almost
    everywhere.

    Args:
        size: Window height and width, an int >= 1 (1 is the identity; 2 and
            3 are the usual choices).
        dtype: The dtype policy (see `ParameterFreeModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If `size` is not an int.
        ValueError: If `size` < 1, or (when called) the images are not rank 4
            or are smaller than the padding.
    """

    def __init__(self, size=2, dtype=None, **kwargs):
        check_model_kwargs("MedianSmoothing", kwargs)
        size = check_positive_int(size, "size")
        super().__init__(dtype=dtype, **kwargs)
        self.size = size

    def call(self, inputs):
        images = tf.convert_to_tensor(inputs, tf.float32)
        if images.shape.rank != 4:
            raise ValueError(f"MedianSmoothing expects NHWC images, got shape {tuple(images.shape)}.")
        k = self.size
        if k == 1:
            return images
        before = (k - 1) // 2
        after = k - 1 - before
        if any(dim is not None and dim < after for dim in images.shape[1:3]):
            raise ValueError(f"MedianSmoothing(size={k}) needs images of at least {after}x{after} "
                             f"pixels, got shape {tuple(images.shape)}.")
        padded = tf.pad(images, [[0, 0], [before, after], [before, after], [0, 0]], mode="SYMMETRIC")
        patches = tf.image.extract_patches(padded, sizes=[1, k, k, 1], strides=[1, 1, 1, 1],
                                           rates=[1, 1, 1, 1], padding="VALID")
        # patches[..., (row * k + col) * channels + c]: move the window axis last.
        shape = tf.shape(images)
        patches = tf.reshape(patches, tf.stack([shape[0], shape[1], shape[2], k * k, shape[3]]))
        patches = tf.transpose(patches, [0, 1, 2, 4, 3])
        n = k * k
        largest = tf.math.top_k(patches, k=n // 2 + 1, sorted=True).values  # descending
        if n % 2:
            median = largest[..., n // 2]
        else:
            median = 0.5 * (largest[..., n // 2 - 1] + largest[..., n // 2])
        return tf.ensure_shape(median, images.shape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size}
