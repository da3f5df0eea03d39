"""Tests for DefendedClassifier: classifier(preprocessor(x)) as one Keras model."""

import json

import keras
import numpy as np
import pytest

from tests.harness import images, perturb_weights, run_saving_test
from tfdefend.models import (
    BitDepthReduction,
    ComDefend,
    DefendedClassifier,
    JPEGCompression,
    SmallCNN,
    list_models,
)

SHAPE = (8, 8, 1)


def _classifier():
    return SmallCNN(SHAPE, num_classes=3, filters=4, dense_units=8)


def _comdefend():
    return ComDefend(SHAPE, code_channels=4, comcnn_filters=(4,), rescnn_filters=(4,))


@pytest.mark.parametrize("make_preprocessor", [_comdefend, JPEGCompression, BitDepthReduction])
def test_logits_are_classifier_of_preprocessed(make_preprocessor):
    preprocessor, classifier = make_preprocessor(), _classifier()
    model = DefendedClassifier(preprocessor, classifier)
    assert model.preprocessor is preprocessor and model.classifier is classifier
    x = images(4, SHAPE)
    expected = np.asarray(classifier(preprocessor(x)))
    np.testing.assert_allclose(np.asarray(model(x)), expected, atol=1e-6)
    assert model.output_shape == (None, 3)
    np.testing.assert_allclose(model.predict(x, batch_size=3, verbose=0), expected, atol=1e-5)


@pytest.mark.parametrize("make_preprocessor", [_comdefend, JPEGCompression])
def test_round_trips(make_preprocessor, tmp_path):
    model = DefendedClassifier(make_preprocessor(), _classifier())
    perturb_weights(model)
    x = images(3, SHAPE)
    expected = np.asarray(model(x))
    config = model.get_config()
    json.dumps(config)
    clone = DefendedClassifier.from_config(config)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), expected, atol=1e-6)
    reloaded = run_saving_test(model, x, tmp_path, outputs=lambda m, x: [m(x), m.classifier(x)], atol=1e-6)
    assert type(reloaded) is DefendedClassifier
    assert type(reloaded.preprocessor) is type(model.preprocessor)
    assert type(reloaded.classifier) is SmallCNN


@pytest.mark.parametrize("kwargs, arg", [
    ({"preprocessor": lambda x: x}, "preprocessor"),
    ({"preprocessor": keras.layers.Identity()}, "preprocessor"),
    ({"classifier": np.zeros(3)}, "classifier"),
    ({"classifier": None}, "classifier"),
])
def test_non_model_args_raise_type_error(kwargs, arg):
    args = {"preprocessor": JPEGCompression(), "classifier": _classifier(), **kwargs}
    with pytest.raises(TypeError, match=arg):
        DefendedClassifier(**args)


def test_input_shape_is_required_when_no_sub_model_has_one():
    class Logits(keras.Model):
        def call(self, x):
            return keras.ops.mean(x, axis=(1, 2))

    with pytest.raises(ValueError, match="input_shape"):
        DefendedClassifier(JPEGCompression(), Logits())
    model = DefendedClassifier(JPEGCompression(), Logits(), input_shape=SHAPE)
    assert model(images(2, SHAPE)).shape == (2, 1)


def test_not_registered():
    assert not any("defended" in name for name in list_models())
