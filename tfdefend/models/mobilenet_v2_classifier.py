"""A small MobileNetV2-style classifier (Sandler et al., 2018)."""

import keras

from tfdefend.utils.validation import check_positive_float, check_positive_int
from tfdefend.models._layers import check_classifier_args, classifier_head, image_input
from tfdefend.models.base_model import BaseModel, dtype_scope
from tfdefend.models.registry import register_classifier

# (expansion or None for `expansion`, output channels at alpha=1, repeats, first stride).
# With the stride-1 stem, 28x28 inputs go 28 -> 14 -> 7 -> 4 before pooling.
_BLOCKS = (
    (1, 16, 1, 1),
    (None, 24, 2, 2),
    (None, 32, 2, 2),
    (None, 64, 2, 2),
    (None, 96, 1, 1),
)


@register_classifier(
    "mobilenet_v2", "Small MobileNetV2 (inverted residual blocks, 28x28 -> 4x4), TFLite-friendly.")
class MobileNetV2Classifier(BaseModel):
    """Small MobileNetV2-style classifier returning logits.

    A stride-1 3x3 stem, then inverted residual blocks (1x1 expansion with
    ReLU6, depthwise 3x3 with ReLU6, linear 1x1 projection; a residual add
    when the stride is 1 and the channels match) in five groups of 16, 24,
    32, 64 and 96 channels (times `alpha`) with strides 1, 2, 2, 2, 1, a 1x1
    head convolution, global average pooling and the logits layer. Sized for
    28x28/32x32 images (28x28 is 4x4 before pooling); "same" padding keeps
    tiny inputs at >= 1x1. Uses only builtin TFLite ops. Inputs are images in
    [0, 1], NHWC.

    Args:
        input_shape: (height, width, channels) of the images.
        num_classes: Number of output logits.
        alpha: Width multiplier applied to every layer's channels (rounded to
            multiples of 8); the head only grows with it (alpha > 1).
        expansion: Expansion factor of the inverted residual blocks (the first
            block always uses 1, as in the paper).
        head_channels: Channels of the final 1x1 convolution at alpha <= 1.
        dropout: Dropout rate before the logits (training only; 0 adds no layer).
        dtype: The dtype policy (see `BaseModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 1), num_classes=10, alpha=1.0, expansion=6,
                 head_channels=256, dropout=0.0, dtype=None, **kwargs):
        input_shape, num_classes, dropout = check_classifier_args(
            "MobileNetV2Classifier", kwargs, input_shape, num_classes, dropout)
        alpha = check_positive_float(alpha, "alpha")
        expansion = check_positive_int(expansion, "expansion")
        head_channels = check_positive_int(head_channels, "head_channels")

        with dtype_scope(dtype):
            inputs = image_input(input_shape)
            x = keras.layers.Conv2D(_make_divisible(16 * alpha), 3, padding="same", use_bias=False,
                                    name="stem_conv")(inputs)
            x = keras.layers.BatchNormalization(name="stem_bn")(x)
            x = keras.layers.ReLU(max_value=6.0, name="stem_relu6")(x)
            index = 0
            for block_expansion, channels, repeats, first_stride in _BLOCKS:
                for repeat in range(repeats):
                    index += 1
                    x = _inverted_residual(
                        x,
                        expansion=block_expansion or expansion,
                        out_channels=_make_divisible(channels * alpha),
                        stride=first_stride if repeat == 0 else 1,
                        name=f"block{index}",
                    )
            x = keras.layers.Conv2D(_make_divisible(head_channels * max(1.0, alpha)), 1, use_bias=False,
                                    name="head_conv")(x)
            x = keras.layers.BatchNormalization(name="head_bn")(x)
            x = keras.layers.ReLU(max_value=6.0, name="head_relu6")(x)
            logits = classifier_head(x, num_classes, pooling="avg", dropout=dropout)
        super().__init__(inputs=inputs, outputs=logits, dtype=dtype, **kwargs)
        self.store_config(input_shape=input_shape, num_classes=num_classes, alpha=alpha, expansion=expansion,
                          head_channels=head_channels, dropout=dropout)


def _make_divisible(value, divisor=8):
    """Rounds a channel count to a multiple of `divisor` (as in the reference MobileNets)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _inverted_residual(x, expansion, out_channels, stride, name):
    """1x1 expand (ReLU6) -> depthwise 3x3 (ReLU6) -> 1x1 linear projection (+ residual)."""
    in_channels = x.shape[-1]
    y = x
    if expansion != 1:
        y = keras.layers.Conv2D(in_channels * expansion, 1, use_bias=False, name=f"{name}_expand")(y)
        y = keras.layers.BatchNormalization(name=f"{name}_expand_bn")(y)
        y = keras.layers.ReLU(max_value=6.0, name=f"{name}_expand_relu6")(y)
    y = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False,
                                     name=f"{name}_depthwise")(y)
    y = keras.layers.BatchNormalization(name=f"{name}_depthwise_bn")(y)
    y = keras.layers.ReLU(max_value=6.0, name=f"{name}_depthwise_relu6")(y)
    y = keras.layers.Conv2D(out_channels, 1, use_bias=False, name=f"{name}_project")(y)
    y = keras.layers.BatchNormalization(name=f"{name}_project_bn")(y)
    if stride == 1 and in_channels == out_channels:
        y = keras.layers.Add(name=f"{name}_add")([x, y])
    return y
