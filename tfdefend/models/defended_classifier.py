"""A classifier behind a preprocessing defense: `classifier(preprocessor(x))`."""

import keras

from tfdefend.utils.validation import check_input_shape, check_model_kwargs
from tfdefend.models._layers import image_input
from tfdefend.models.base_model import BaseModel, dtype_scope, float32_output
from tfdefend.utils.calling import image_input_shape


@keras.saving.register_keras_serializable(package="tfdefend")
class DefendedClassifier(BaseModel):
    """A classifier with a preprocessing defense in front, returning logits.

    `call(x) = classifier(preprocessor(x))`. The two sub-models stay
    reachable as the `preprocessor` and `classifier` attributes, so adaptive
    attacks can differentiate through the classifier alone and replace the
    preprocessor's gradient (BPDA) or average over its randomness (EOT).
    Gradients through the whole model are those of the preprocessor: zero or
    None for non-differentiable defenses (JPEG, bit-depth reduction, ComDefend
    at inference), which is the gradient masking BPDA exists to defeat.
    Layer losses of the preprocessor (ComDefend's code penalty) show up in
    `self.losses`; they do not depend on the classifier's weights.

    Not in the model registry: it needs two sub-models, which registry
    defaults cannot provide. Build it from models (e.g. `create_model` or
    `load_pretrained` results).

    Args:
        preprocessor: A `keras.Model` mapping images to images of the
            classifier's input shape.
        classifier: A `keras.Model` mapping images to logits.
        input_shape: (height, width, channels) of the images; by default the
            classifier's input shape, else the preprocessor's.
        dtype: Dtype policy of the wrapper ("float32", "mixed_float16", a
            `keras.DTypePolicy`; None: the global policy); the sub-models keep
            their own. The logits are float32 under a 16-bit policy.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If `preprocessor` or `classifier` is not a `keras.Model`.
        ValueError: If no input shape is given and neither sub-model has one.
    """

    nested_models = ("preprocessor", "classifier")  # serialized sub-models in the config

    def __init__(self, preprocessor, classifier, input_shape=None, dtype=None, **kwargs):
        check_model_kwargs("DefendedClassifier", kwargs)
        for arg, value in (("preprocessor", preprocessor), ("classifier", classifier)):
            if not isinstance(value, keras.Model):
                raise TypeError(f"`{arg}` must be a keras.Model, got {type(value).__name__}.")
        if input_shape is None:
            input_shape = image_input_shape(classifier) or image_input_shape(preprocessor)
            if input_shape is None:
                raise ValueError("`input_shape` is required: neither `classifier` nor `preprocessor` "
                                 "has a known (height, width, channels) input shape.")
        input_shape = check_input_shape(input_shape)

        with dtype_scope(dtype):
            inputs = image_input(input_shape)
            logits = float32_output(classifier(preprocessor(inputs)))
        super().__init__(inputs=inputs, outputs=logits, dtype=dtype, **kwargs)
        self.store_config(preprocessor=preprocessor, classifier=classifier, input_shape=input_shape)
