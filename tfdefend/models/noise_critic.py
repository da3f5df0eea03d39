"""The Wasserstein critic of GNR (scores images; trained with WGAN-GP)."""

import keras

from tfdefend.utils.validation import check_input_shape, check_model_kwargs, check_non_negative_float
from tfdefend.models._layers import check_widths, image_input
from tfdefend.models.base_model import BaseModel, dtype_scope, float32_output
from tfdefend.models.registry import register_image_model

CRITIC_FILTERS = (16, 32, 64)
NORMALIZATIONS = ("layer", "none")


@register_image_model(
    "gnr_critic", "critic", "GNR Wasserstein critic: image -> unbounded score (layer norm, WGAN-GP ready).")
class NoiseCritic(BaseModel):
    """Convolutional Wasserstein critic mapping images to one unbounded score.

    One convolution unit per entry of `filters`: a 5x5 stride-2 convolution
    -> normalization -> LeakyReLU(`negative_slope`); then flatten and a
    `Dense(1)` without activation, so the output (shape (batch, 1)) is an
    unbounded Wasserstein score, not a probability.

    Deviation from the paper: GNR's critic uses batch normalization, but the
    WGAN-GP gradient penalty is computed per sample, and batch norm makes
    each sample's score depend on the rest of the batch, which invalidates
    it. As Gulrajani et al. (2017) recommend, `normalization="layer"`
    normalizes each sample over all of (height, width, channels) with a
    per-channel scale and offset (`GroupNormalization(groups=1)`, as in
    their code); `"none"` uses no normalization. `"batch"` is refused.

    The paper uses widths 64, 128, 256, 512; the default `(16, 32, 64)` is a
    CPU-sized version for 28x28 images.

    Args:
        input_shape: (height, width, channels) of the images.
        filters: Widths of the convolution units, first to last (at least one).
        negative_slope: Slope of the LeakyReLU for negative inputs (>= 0).
        normalization: "layer" or "none".
        dtype: The dtype policy (see `BaseModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 1), filters=CRITIC_FILTERS, negative_slope=0.2,
                 normalization="layer", dtype=None, **kwargs):
        check_model_kwargs("NoiseCritic", kwargs)
        input_shape = check_input_shape(input_shape)
        filters = check_widths(filters)
        negative_slope = check_non_negative_float(negative_slope, "negative_slope")
        normalization = check_normalization(normalization)

        with dtype_scope(dtype):
            inputs = image_input(input_shape)
            x = inputs
            for i, width in enumerate(filters):
                name = f"unit{i + 1}"
                x = keras.layers.Conv2D(width, 5, strides=2, padding="same", name=f"{name}_conv")(x)
                if normalization == "layer":
                    x = keras.layers.GroupNormalization(groups=1, name=f"{name}_norm")(x)
                x = keras.layers.LeakyReLU(negative_slope=negative_slope, name=f"{name}_lrelu")(x)
            x = keras.layers.Flatten(name="flatten")(x)
            outputs = keras.layers.Dense(1, name="score")(x)
            outputs = float32_output(outputs)
        super().__init__(inputs=inputs, outputs=outputs, dtype=dtype, **kwargs)
        self.store_config(input_shape=input_shape, filters=filters, negative_slope=negative_slope,
                          normalization=normalization)


def check_normalization(normalization):
    """Checks the critic's normalization ("layer" or "none"); returns it."""
    if not isinstance(normalization, str):
        raise TypeError(f"`normalization` must be a str, got {type(normalization).__name__}.")
    if normalization == "batch":
        raise ValueError(
            "`normalization='batch'` is not supported: batch norm couples the samples of a batch, "
            "which breaks the per-sample WGAN-GP gradient penalty; use 'layer' (Gulrajani et al., 2017)."
        )
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"`normalization` must be one of {list(NORMALIZATIONS)}, got {normalization!r}.")
    return normalization
