"""A multilayer-perceptron classifier (the LeNet-300/500-style MLP)."""

import keras

from tfdefend.models._checks import (
    check_input_shape,
    check_model_kwargs,
    check_num_classes,
    check_rate,
    check_units,
)
from tfdefend.models.registry import register_model


@register_model(
    "mlp",
    defaults={"input_shape": (28, 28, 1), "num_classes": 10},
    description="MLP (Flatten + ReLU dense layers 500-150), the Deep Defense MNIST MLP.",
)
@keras.saving.register_keras_serializable(package="tfdefend")
class MLPClassifier(keras.Model):
    """Multilayer perceptron returning logits.

    Flattens the image, applies one ReLU dense layer per entry of
    `hidden_units` (500-150 by default, the LeNet-style MLP that Deep Defense
    uses on MNIST), then the logits layer. Inputs are images in [0, 1], NHWC.

    Args:
        input_shape: (height, width, channels) of the images.
        num_classes: Number of output logits.
        hidden_units: Widths of the hidden ReLU layers, first to last; an
            empty tuple gives a linear (softmax-regression) model.
        dropout: Dropout rate after each hidden layer (training only; 0 adds
            no layer).
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 1), num_classes=10, hidden_units=(500, 150),
                 dropout=0.0, **kwargs):
        check_model_kwargs("MLPClassifier", kwargs)
        input_shape = check_input_shape(input_shape)
        num_classes = check_num_classes(num_classes)
        hidden_units = check_units(hidden_units, "hidden_units")
        dropout = check_rate(dropout, "dropout")

        inputs = keras.Input(shape=input_shape, name="images")
        x = keras.layers.Flatten(name="flatten")(inputs)
        for i, units in enumerate(hidden_units):
            x = keras.layers.Dense(units, activation="relu", name=f"dense{i + 1}")(x)
            if dropout > 0:
                x = keras.layers.Dropout(dropout, name=f"dropout{i + 1}")(x)
        logits = keras.layers.Dense(num_classes, name="logits")(x)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        self.input_shape_ = input_shape
        self.num_classes = num_classes
        self.hidden_units = hidden_units
        self.dropout = dropout

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_shape": self.input_shape_,
            "num_classes": self.num_classes,
            "hidden_units": self.hidden_units,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
