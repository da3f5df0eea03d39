"""A CIFAR-style ResNet classifier (He et al., 2016)."""

import keras

from tfdefend.utils.validation import check_positive_int
from tfdefend.models._layers import check_classifier_args, classifier_head, image_input
from tfdefend.models.base_model import BaseModel, dtype_scope
from tfdefend.models.registry import register_classifier


@register_classifier("resnet", "CIFAR-style ResNet (3 stages of basic blocks, ResNet-14 by default).")
class ResNetClassifier(BaseModel):
    """CIFAR-style ResNet returning logits.

    A 3x3 stem convolution, then three stages of basic residual blocks
    (conv 3x3 - BN - ReLU - conv 3x3 - BN, added to the shortcut, then ReLU)
    with `filters`, `2 * filters` and `4 * filters` channels. The first block
    of the second and third stage has stride 2 and a 1x1 projection shortcut.
    Global average pooling and a dense layer give the logits. The depth is
    `6 * blocks_per_stage + 2` (ResNet-14 by default, ResNet-20 with 3).
    Inputs are images in [0, 1], NHWC; "same" padding keeps tiny inputs
    (e.g. 8x8) at >= 1x1 everywhere.

    Args:
        input_shape: (height, width, channels) of the images.
        num_classes: Number of output logits.
        filters: Channels of the stem and the first stage.
        blocks_per_stage: Basic residual blocks in each of the three stages.
        dropout: Dropout rate before the logits (training only; 0 adds no layer).
        dtype: The dtype policy (see `BaseModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 1), num_classes=10, filters=16,
                 blocks_per_stage=2, dropout=0.0, dtype=None, **kwargs):
        input_shape, num_classes, dropout = check_classifier_args(
            "ResNetClassifier", kwargs, input_shape, num_classes, dropout)
        filters = check_positive_int(filters, "filters")
        blocks_per_stage = check_positive_int(blocks_per_stage, "blocks_per_stage")

        with dtype_scope(dtype):
            inputs = image_input(input_shape)
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                                    kernel_initializer="he_normal", name="stem_conv")(inputs)
            x = keras.layers.BatchNormalization(name="stem_bn")(x)
            x = keras.layers.ReLU(name="stem_relu")(x)
            for stage in range(3):
                width = filters * 2 ** stage
                for block in range(blocks_per_stage):
                    stride = 2 if stage > 0 and block == 0 else 1
                    x = _basic_block(x, width, stride, name=f"stage{stage + 1}_block{block + 1}")
            logits = classifier_head(x, num_classes, pooling="avg", dropout=dropout)
        super().__init__(inputs=inputs, outputs=logits, dtype=dtype, **kwargs)
        self.store_config(input_shape=input_shape, num_classes=num_classes, filters=filters,
                          blocks_per_stage=blocks_per_stage, dropout=dropout)


def _basic_block(x, width, stride, name):
    """Two 3x3 conv-BN layers plus a (projected when needed) shortcut, then ReLU."""
    shortcut = x
    if stride != 1 or x.shape[-1] != width:
        shortcut = keras.layers.Conv2D(width, 1, strides=stride, padding="same", use_bias=False,
                                       kernel_initializer="he_normal", name=f"{name}_proj")(x)
        shortcut = keras.layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    y = keras.layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False,
                            kernel_initializer="he_normal", name=f"{name}_conv1")(x)
    y = keras.layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = keras.layers.ReLU(name=f"{name}_relu1")(y)
    y = keras.layers.Conv2D(width, 3, padding="same", use_bias=False,
                            kernel_initializer="he_normal", name=f"{name}_conv2")(y)
    y = keras.layers.BatchNormalization(name=f"{name}_bn2")(y)
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.ReLU(name=f"{name}_relu2")(y)
