"""Tests for the model registry: names, defaults, overrides and errors."""

import pytest

import tfdefend.models as models
from tests.harness import tiny_kwargs
from tfdefend.models import create_model, list_models, model_info

EXPECTED_CLASSIFIERS = {
    "small_cnn": models.SmallCNN,
    "resnet": models.ResNetClassifier,
    "mobilenet_v2": models.MobileNetV2Classifier,
    "mlp": models.MLPClassifier,
}
CLASSIFIERS = list_models(kind="classifier")


def test_expected_classifiers_are_registered():
    for name, cls in EXPECTED_CLASSIFIERS.items():
        assert name in CLASSIFIERS
        assert model_info(name)["cls"] is cls


def test_list_models_is_sorted_and_filters_by_kind():
    assert list_models() == sorted(list_models())
    assert set(CLASSIFIERS) <= set(list_models())
    assert list_models(kind="no_such_kind") == []


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifier_defaults(name):
    info = model_info(name)
    assert tuple(info["defaults"]["input_shape"]) == (28, 28, 1)
    assert info["defaults"]["num_classes"] == 10
    assert info["kind"] == "classifier"
    assert info["description"]


def test_model_info_returns_a_copy_of_the_defaults():
    model_info("small_cnn")["defaults"]["num_classes"] = 99
    assert model_info("small_cnn")["defaults"]["num_classes"] == 10


@pytest.mark.parametrize("bad", ["nope", "", None, 3])
def test_unknown_name_lists_the_known_names(bad):
    with pytest.raises(ValueError) as info:
        create_model(bad)
    for name in EXPECTED_CLASSIFIERS:
        assert name in str(info.value)
    with pytest.raises(ValueError):
        model_info(bad)


def test_duplicate_registration_is_refused():
    with pytest.raises(ValueError, match="small_cnn"):
        models.register_model("small_cnn")(type("Dup", (), {}))


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_create_model_applies_overrides(name):
    overrides = tiny_kwargs(name, input_shape=(12, 10, 2), num_classes=4)
    model = create_model(name, **overrides)
    assert isinstance(model, model_info(name)["cls"])
    assert model.input_shape == (None, 12, 10, 2)
    assert model.output_shape == (None, 4)
    config = model.get_config()
    for key, value in overrides.items():
        assert config[key] == value, key


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_create_model_with_name_override(name):
    model = create_model(name, name="my_model", **tiny_kwargs(name))
    assert model.name == "my_model"


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_unknown_override_raises_type_error(name):
    with pytest.raises(TypeError, match="no_such_arg"):
        create_model(name, no_such_arg=1, **tiny_kwargs(name))


def test_denoising_autoencoder_is_an_unlisted_alias_of_dae():
    from tfdefend.models.denoising_autoencoder import DenoisingAutoencoder

    assert isinstance(create_model("denoising_autoencoder"), DenoisingAutoencoder)
    assert model_info("denoising_autoencoder")["cls"] is model_info("dae")["cls"]
    assert "dae" in list_models() and "denoising_autoencoder" not in list_models()


def test_a_model_cannot_take_an_alias_name():
    from tfdefend.models.registry import register_model

    with pytest.raises(ValueError, match="'denoising_autoencoder' is already registered"):
        register_model("denoising_autoencoder")(type("M", (), {}))
