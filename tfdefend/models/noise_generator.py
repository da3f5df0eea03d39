"""The noise generator of GNR (a generator of bounded adversarial-like noise)."""

import math
import warnings

import keras

from tfdefend.utils.validation import (
    check_input_shape,
    check_model_kwargs,
    check_positive_float,
    check_positive_int,
)
from tfdefend.models._layers import check_widths, conv_bn_relu
from tfdefend.models.base_model import BaseModel, dtype_scope, float32_output
from tfdefend.models.registry import register_image_model

GENERATOR_FILTERS = (64, 32, 16)


@register_image_model(
    "gnr_generator", "generator", "GNR noise generator: latent vector -> noise image in [-eps, eps].",
    defaults={"output_shape": (28, 28, 1)})
class NoiseGenerator(BaseModel):
    """Generator mapping latent vectors `z` to noise images bounded by `eps`.

    `z` (shape (batch, latent_dim), input "latent") -> Dense -> reshape to a
    `(h0, w0, filters[0])` map with `h0 = ceil(height / 2 ** len(filters))`
    (likewise `w0`) -> batch norm -> ReLU. Then one deconvolution unit per
    entry of `filters`: a 5x5 stride-2 transposed convolution -> batch norm
    -> ReLU (doubling height and width), followed by three 3x3 convolution
    -> batch norm -> ReLU blocks whose output is added to the unit's
    deconvolution output (the residual connection that, in the paper,
    "prevents gradient dispersion"). Finally a 3x3 convolution to `channels`
    with tanh, a crop to (height, width), and a scaling by `eps`: every
    generated noise lies in [-eps, eps].

    The paper uses widths 256, 128, 64; the default `(64, 32, 16)` is a
    CPU-sized version for 28x28 images.

    Args:
        output_shape: (height, width, channels) of the generated noise.
        latent_dim: Size of the latent vectors.
        filters: Widths of the deconvolution units, first to last (at least one).
        eps: Bound of the noise (> 0).
        dtype: The dtype policy (see `BaseModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, output_shape=(28, 28, 1), latent_dim=64, filters=GENERATOR_FILTERS, eps=0.1,
                 dtype=None, **kwargs):
        check_model_kwargs("NoiseGenerator", kwargs)
        output_shape = check_input_shape(output_shape, "output_shape")
        latent_dim = check_positive_int(latent_dim, "latent_dim")
        filters = check_widths(filters)
        eps = check_positive_float(eps, "eps")

        with dtype_scope(dtype):
            step = 2 ** len(filters)
            h0, w0 = (math.ceil(dim / step) for dim in output_shape[:2])
            crop = (h0 * step - output_shape[0], w0 * step - output_shape[1])

            inputs = keras.Input(shape=(latent_dim,), name="latent")
            x = keras.layers.Dense(h0 * w0 * filters[0], use_bias=False, name="project")(inputs)
            x = keras.layers.Reshape((h0, w0, filters[0]), name="reshape")(x)
            x = keras.layers.BatchNormalization(name="project_bn")(x)
            x = keras.layers.ReLU(name="project_relu")(x)
            for i, width in enumerate(filters):
                x = _deconv_unit(x, width, f"unit{i + 1}")
            x = keras.layers.Conv2D(output_shape[-1], 3, padding="same", activation="tanh", name="noise")(x)
            if any(crop):
                x = keras.layers.Cropping2D(((0, crop[0]), (0, crop[1])), name="crop")(x)
            outputs = keras.layers.Rescaling(eps, name="scale")(x)
            outputs = float32_output(outputs)
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)
        self.store_config(output_shape=output_shape, latent_dim=latent_dim, filters=filters, eps=eps)

    @property
    def output_shape_(self):
        """Deprecated alias of `noise_shape` (read-only); it will be removed in the next release."""
        warnings.warn("`NoiseGenerator.output_shape_` is deprecated; use `noise_shape`.", DeprecationWarning,
                      stacklevel=2)
        return self.noise_shape


def _deconv_unit(x, width, name):
    """5x5 stride-2 deconvolution block, then three 3x3 convolution blocks plus a residual connection."""
    x = conv_bn_relu(x, width, f"{name}_deconv", kernel_size=5, strides=2, transpose=True)
    y = x
    for i in range(3):
        y = conv_bn_relu(y, width, f"{name}_c{i + 1}")
    return keras.layers.Add(name=f"{name}_add")([x, y])
