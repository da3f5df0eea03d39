"""Every registered model builds with `dtype="mixed_float16"`, trains a few steps, saves and reloads."""

import keras
import numpy as np
import pytest

from tfdefend.models import create_model, list_models, model_info
from tfdefend.models.base_model import BaseModel, resolve_dtype_policy
from tfdefend.models.parameter_free_model import ParameterFreeModel
from tests.harness import TINY_OVERRIDES, tiny_kwargs, tiny_model

SHAPE = (16, 16, 1)
BATCH = 4


@pytest.fixture
def tiny_image_model():
    """`tests.harness.tiny_model`: a tiny registered model."""
    return tiny_model


@pytest.fixture
def tiny_overrides():
    """`tests.harness.tiny_kwargs`: the constructor arguments of a tiny registered model."""
    return tiny_kwargs


def _tiny_mixed(name, tiny_image_model, tiny_overrides):
    if model_info(name)["kind"] == "classifier":
        return create_model(name, **tiny_overrides(name, input_shape=SHAPE), dtype="mixed_float16")
    return tiny_image_model(name, input_shape=SHAPE, dtype="mixed_float16")


def _inputs(model, rng):
    """One batch for each of the model's inputs: images in [0, 1], zeros for the agent's state inputs."""
    if not getattr(model, "inputs", None):  # a parameter-free preprocessor: any image shape
        return rng.uniform(0, 1, (BATCH, *SHAPE)).astype("float32")
    arrays = []
    for tensor in model.inputs:
        shape = (BATCH, *tensor.shape[1:])
        if len(shape) == 4:
            arrays.append(rng.uniform(0, 1, shape).astype("float32"))
        elif tensor.name == "latent":
            arrays.append(rng.normal(size=shape).astype("float32"))
        else:
            arrays.append(np.zeros(shape, "float32"))
    return arrays if len(arrays) > 1 else arrays[0]


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


@pytest.mark.filterwarnings("ignore:Gradients do not exist")  # the RL chain's agent: argmax has no gradient
@pytest.mark.parametrize("name", list_models())
def test_mixed_float16_trains_saves_and_reloads(name, tiny_image_model, tiny_overrides, tmp_path):
    model = _tiny_mixed(name, tiny_image_model, tiny_overrides)
    assert model.dtype_policy.name == "mixed_float16"
    assert model.get_config()["dtype"]["config"]["name"] == "mixed_float16"
    rng = np.random.default_rng(0)
    x = _inputs(model, rng)
    outputs = _as_list(model(x, training=False))
    for out in outputs:
        assert out.dtype == "float32", f"{name} returns {out.dtype}: outputs must be cast to float32"
        assert np.all(np.isfinite(np.asarray(out)))
    if model.trainable_weights:
        if model_info(name)["kind"] == "classifier":
            loss, y = keras.losses.SparseCategoricalCrossentropy(from_logits=True), np.arange(BATCH) % 3
        else:  # the image-to-image models' own compute_loss ignores `loss`
            loss, y = "mse", [np.zeros_like(np.asarray(out)) for out in outputs]
            y = y if len(y) > 1 else y[0]
        model.compile(optimizer="adam", loss=loss, jit_compile=False)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        history = model.fit(x, y, batch_size=2, epochs=1, verbose=0)
        assert np.all(np.isfinite(history.history["loss"]))
    expected = [np.asarray(out) for out in _as_list(model(x, training=False))]
    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, compile=False)
    assert type(reloaded) is type(model) and reloaded.dtype_policy.name == "mixed_float16"
    for got, want in zip(_as_list(reloaded(x, training=False)), expected):
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-6)


@pytest.mark.parametrize("dtype", ["mixed_float16", keras.DTypePolicy("mixed_float16")])
def test_dtype_policy_object_or_name(dtype):
    model = create_model("small_cnn", input_shape=(8, 8, 1), num_classes=3, **TINY_OVERRIDES["small_cnn"],
                         dtype=dtype)
    assert model.dtype_policy.name == "mixed_float16"
    assert all(layer.dtype_policy.name == "mixed_float16" for layer in model.layers if layer.name != "images"
               and layer.name != "float32_output")
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


def test_float32_models_keep_their_layers():
    """No cast layer is added in float32: saved float32 models keep their structure."""
    model = create_model("small_cnn", input_shape=(8, 8, 1), num_classes=3, **TINY_OVERRIDES["small_cnn"])
    assert model.layers[-1].name == "logits" and model.dtype_policy.name == "float32"


@pytest.mark.parametrize("name", list_models())
def test_config_without_dtype_still_loads(name, tiny_image_model, tiny_overrides):
    """Configs saved before `dtype` was recorded (every shipped zoo file) build float32 models."""
    if model_info(name)["kind"] == "classifier":
        model = create_model(name, **tiny_overrides(name, input_shape=(8, 8, 1)))
    else:
        model = tiny_image_model(name, input_shape=(8, 8, 1))
    config = model.get_config()
    assert config["dtype"]["config"]["name"] == "float32"
    del config["dtype"]
    clone = type(model).from_config(config)
    assert type(clone) is type(model) and clone.dtype_policy.name == "float32"
    assert isinstance(clone, (BaseModel, ParameterFreeModel))
    assert clone.count_params() == model.count_params()


@pytest.mark.parametrize("bad, error", [(3, TypeError), ("no_such_policy", ValueError)])
def test_bad_dtype_names_the_argument(bad, error):
    with pytest.raises(error, match="dtype"):
        resolve_dtype_policy(bad)
    with pytest.raises(error, match="dtype"):
        create_model("mlp", input_shape=(4, 4, 1), num_classes=3, hidden_units=(4,), dtype=bad)


def test_input_shape_underscore_is_a_deprecated_alias():
    model = create_model("mlp", input_shape=(4, 4, 1), num_classes=3, hidden_units=(4,))
    with pytest.warns(DeprecationWarning, match="image_shape"):
        assert model.input_shape_ == model.image_shape == (4, 4, 1)
    with pytest.raises(AttributeError):
        model.input_shape_ = (5, 5, 1)
