"""Bit-depth reduction, the color-depth feature squeezer of Xu et al. (NDSS 2018)."""

import tensorflow as tf

from tfdefend.utils.validation import check_model_kwargs, check_positive_int
from tfdefend.models.parameter_free_model import ParameterFreeModel
from tfdefend.models.registry import register_image_model


@register_image_model(
    "bit_depth", "preprocessor", "Bit-depth reduction (feature squeezing): round to 2**bits gray levels.",
    defaults={"bits": 4})
class BitDepthReduction(ParameterFreeModel):
    """Quantizes images in [0, 1] to `2 ** bits` levels: `round(x * L) / L`, `L = 2 ** bits - 1`.

    Inputs are clipped to [0, 1] first, so every output lies exactly on the
    grid {0, 1/L, ..., 1}. Rounding has no gradient: gradients with respect
    to the input are None (zero), so attacks need BPDA.

    Args:
        bits: Bits per channel, an int in [1, 8] (Xu et al. use 1 on MNIST,
            4-5 on CIFAR-10 and ImageNet).
        dtype: The dtype policy (see `ParameterFreeModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If `bits` is not an int.
        ValueError: If `bits` is outside [1, 8].
    """

    def __init__(self, bits=4, dtype=None, **kwargs):
        check_model_kwargs("BitDepthReduction", kwargs)
        bits = check_positive_int(bits, "bits", maximum=8)
        super().__init__(dtype=dtype, **kwargs)
        self.bits = bits

    def call(self, inputs):
        levels = float(2 ** self.bits - 1)
        images = tf.clip_by_value(tf.convert_to_tensor(inputs, tf.float32), 0.0, 1.0)
        return tf.stop_gradient(tf.round(images * levels) / levels)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "bits": self.bits}
