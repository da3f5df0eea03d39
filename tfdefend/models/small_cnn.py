"""A small VGG-style CNN classifier."""

import keras

from tfdefend.utils.validation import (
    check_input_shape,
    check_model_kwargs,
    check_num_classes,
    check_rate,
)
from tfdefend.models._layers import classifier_head, image_input
from tfdefend.models.base_model import BaseModel, dtype_scope
from tfdefend.models.registry import register_model
from tfdefend.utils.validation import check_positive_int


@register_model(
    "small_cnn",
    defaults={"input_shape": (28, 28, 1), "num_classes": 10},
    description="Small VGG-style CNN (2 conv blocks + dense), the default classifier.",
)
@keras.saving.register_keras_serializable(package="tfdefend")
class SmallCNN(BaseModel):
    """Small VGG-style CNN returning logits.

    Two blocks of (conv 3x3, ReLU) x2 + max-pool, then a dense layer and the
    logits layer. Inputs are images in [0, 1], NHWC.

    Args:
        input_shape: (height, width, channels) of the images (at least 4x4).
        num_classes: Number of output logits.
        filters: Filters of the first block (the second block has twice as many).
        dense_units: Width of the hidden dense layer.
        dropout: Dropout rate before the logits (training only).
        dtype: Dtype policy ("float32", "mixed_float16", a `keras.DTypePolicy`;
            None: the global policy); the logits are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 1), num_classes=10, filters=32,
                 dense_units=128, dropout=0.3, dtype=None, **kwargs):
        check_model_kwargs("SmallCNN", kwargs)
        input_shape = check_input_shape(input_shape, min_size=4)  # two 2x2 max-pools
        num_classes = check_num_classes(num_classes)
        filters = check_positive_int(filters, "filters")
        dense_units = check_positive_int(dense_units, "dense_units")
        dropout = check_rate(dropout, "dropout")
        with dtype_scope(dtype):
            inputs = image_input(input_shape)
            x = inputs
            for block, width in enumerate((filters, 2 * filters)):
                for conv in range(2):
                    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu",
                                            name=f"block{block + 1}_conv{conv + 1}")(x)
                x = keras.layers.MaxPooling2D(2, name=f"block{block + 1}_pool")(x)
            logits = classifier_head(x, num_classes, pooling="flatten", hidden=((dense_units, "dense"),),
                                     dropout=dropout, keep_dropout=True)
        super().__init__(inputs=inputs, outputs=logits, dtype=dtype, **kwargs)
        self.image_shape = input_shape
        self.num_classes = num_classes
        self.filters = filters
        self.dense_units = dense_units
        self.dropout = dropout

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_shape": self.image_shape,
            "num_classes": self.num_classes,
            "filters": self.filters,
            "dense_units": self.dense_units,
            "dropout": self.dropout,
        })
        return config
