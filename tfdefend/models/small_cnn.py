"""A small VGG-style CNN classifier."""

import keras

from tfdefend.utils.validation import check_positive_int
from tfdefend.models._layers import check_classifier_args, classifier_head, image_input
from tfdefend.models.base_model import BaseModel, dtype_scope
from tfdefend.models.registry import register_classifier


@register_classifier("small_cnn", "Small VGG-style CNN (2 conv blocks + dense), the default classifier.")
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
        dtype: The dtype policy (see `BaseModel`); the logits are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 1), num_classes=10, filters=32,
                 dense_units=128, dropout=0.3, dtype=None, **kwargs):
        input_shape, num_classes, dropout = check_classifier_args(
            "SmallCNN", kwargs, input_shape, num_classes, dropout, min_size=4)  # two 2x2 max-pools
        filters = check_positive_int(filters, "filters")
        dense_units = check_positive_int(dense_units, "dense_units")
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
        self.store_config(input_shape=input_shape, num_classes=num_classes, filters=filters,
                          dense_units=dense_units, dropout=dropout)
