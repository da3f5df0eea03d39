"""A multilayer-perceptron classifier (the LeNet-300/500-style MLP)."""

from tfdefend.utils.validation import check_units
from tfdefend.models._layers import check_classifier_args, classifier_head, image_input
from tfdefend.models.base_model import BaseModel, dtype_scope
from tfdefend.models.registry import register_classifier


@register_classifier("mlp", "MLP (Flatten + ReLU dense layers 500-150), the Deep Defense MNIST MLP.")
class MLPClassifier(BaseModel):
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
        dtype: The dtype policy (see `BaseModel`); the outputs are float32.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, input_shape=(28, 28, 1), num_classes=10, hidden_units=(500, 150),
                 dropout=0.0, dtype=None, **kwargs):
        input_shape, num_classes, dropout = check_classifier_args(
            "MLPClassifier", kwargs, input_shape, num_classes, dropout)
        hidden_units = check_units(hidden_units, "hidden_units")

        with dtype_scope(dtype):
            inputs = image_input(input_shape)
            hidden = [(units, f"dense{i + 1}") for i, units in enumerate(hidden_units)]
            logits = classifier_head(inputs, num_classes, pooling="flatten", hidden=hidden,
                                     hidden_dropout=dropout)
        super().__init__(inputs=inputs, outputs=logits, dtype=dtype, **kwargs)
        self.store_config(input_shape=input_shape, num_classes=num_classes, hidden_units=hidden_units,
                          dropout=dropout)
