"""JPEG compression as a preprocessing defense (Dziugaite et al., 2016; Das et al., 2017)."""

import tensorflow as tf

from tfdefend.utils.validation import check_model_kwargs, check_positive_int
from tfdefend.models.parameter_free_model import ParameterFreeModel
from tfdefend.models.registry import register_image_model


@register_image_model(
    "jpeg", "preprocessor", "JPEG compression and decompression of each image (non-differentiable).",
    defaults={"quality": 75})
class JPEGCompression(ParameterFreeModel):
    """Encodes each image as JPEG at `quality` and decodes it back.

    Images are NHWC float32 in [0, 1] with 1 (gray) or 3 (RGB) channels and
    any height, width and batch size; the output has the same shape, quantized
    to 8 bits. Works eagerly and inside `tf.function`.

    The JPEG round trip is not differentiable: the output is wrapped in
    `tf.stop_gradient`, so gradients with respect to the input are None
    (zero). That gradient masking is the point of the defense, and the reason
    it must be evaluated with BPDA (e.g. the identity as the backward pass).
    The JPEG ops cannot be XLA-compiled, so `supports_jit` is False and a
    model holding this one compiles with `jit_compile="auto"` without XLA.

    Args:
        quality: JPEG quality, an int in [1, 100].
        dtype: The dtype policy (see `ParameterFreeModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If `quality` is not an int.
        ValueError: If `quality` is outside [1, 100], or (when called) the
            images are not rank 4 with 1 or 3 channels.
    """

    def __init__(self, quality=75, dtype=None, **kwargs):
        check_model_kwargs("JPEGCompression", kwargs)
        quality = check_positive_int(quality, "quality", maximum=100)
        super().__init__(dtype=dtype, **kwargs)
        self.supports_jit = False  # EncodeJpeg/DecodeJpeg have no XLA kernels
        self.quality = quality

    def call(self, inputs):
        images = tf.clip_by_value(tf.convert_to_tensor(inputs, tf.float32), 0.0, 1.0)
        if images.shape.rank != 4 or images.shape[-1] not in (1, 3):
            raise ValueError("JPEGCompression expects NHWC images with 1 or 3 channels, "
                             f"got shape {tuple(images.shape)}.")
        compressed = tf.map_fn(lambda image: tf.image.adjust_jpeg_quality(image, self.quality),
                               images, fn_output_signature=tf.float32)
        return tf.stop_gradient(tf.ensure_shape(compressed, images.shape))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "quality": self.quality}
