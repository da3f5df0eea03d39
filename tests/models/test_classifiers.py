"""The shared harness every registered classifier must pass.

Parametrized over `list_models(kind="classifier")`, so a newly registered
classifier joins automatically (give it tiny overrides in `tests/harness.py` if its
defaults are large).
"""

import inspect
import json

import keras
import numpy as np
import pytest

from tests.harness import images, perturb_weights, run_model_test, run_saving_test, tiny_model
from tfdefend.models import create_model, list_models, model_info
from tfdefend.utils.validation import check_input_shape, check_units

CLASSIFIERS = list_models(kind="classifier")

# Per-model bad constructor args: (kwargs, exception type, argument named in the message).
BAD_MODEL_ARGS = [
    ("small_cnn", {"filters": 0}, ValueError, "filters"),
    ("small_cnn", {"dense_units": 2.5}, TypeError, "dense_units"),
    ("small_cnn", {"input_shape": (3, 3, 1)}, ValueError, "input_shape"),
    ("resnet", {"filters": 0}, ValueError, "filters"),
    ("resnet", {"blocks_per_stage": 1.0}, TypeError, "blocks_per_stage"),
    ("resnet", {"blocks_per_stage": 0}, ValueError, "blocks_per_stage"),
    ("mobilenet_v2", {"alpha": 0.0}, ValueError, "alpha"),
    ("mobilenet_v2", {"alpha": float("nan")}, ValueError, "alpha"),
    ("mobilenet_v2", {"alpha": "1"}, TypeError, "alpha"),
    ("mobilenet_v2", {"expansion": 0}, ValueError, "expansion"),
    ("mobilenet_v2", {"head_channels": -1}, ValueError, "head_channels"),
    ("mlp", {"hidden_units": 500}, TypeError, "hidden_units"),
    ("mlp", {"hidden_units": (500, 0)}, ValueError, "hidden_units"),
    ("mlp", {"hidden_units": (500, "a")}, TypeError, "hidden_units"),
]

# Bad values of the arguments every classifier takes.
BAD_COMMON_ARGS = [
    ({"input_shape": (28, 28)}, ValueError, "input_shape"),
    ({"input_shape": (28, 28, 1, 1)}, ValueError, "input_shape"),
    ({"input_shape": (0, 28, 1)}, ValueError, "input_shape"),
    ({"input_shape": (28, 28, -1)}, ValueError, "input_shape"),
    ({"input_shape": (28.0, 28, 1)}, TypeError, "input_shape"),
    ({"input_shape": "28x28"}, TypeError, "input_shape"),
    ({"input_shape": None}, TypeError, "input_shape"),
    ({"num_classes": 1}, ValueError, "num_classes"),
    ({"num_classes": 2.5}, TypeError, "num_classes"),
    ({"num_classes": True}, TypeError, "num_classes"),
    ({"num_classes": "10"}, TypeError, "num_classes"),
]


def _predict(model, x):
    return np.asarray(model(x, training=False))


def _architecture(model):
    return [(type(layer).__name__, tuple(w.shape for w in layer.weights)) for layer in model.layers]


def test_every_classifier_has_a_case_in_the_per_model_tables():
    covered = {name for name, *_ in BAD_MODEL_ARGS}
    assert set(CLASSIFIERS) >= covered


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_tiny_model_is_small(name):
    model = tiny_model(name)
    assert model.count_params() < 50_000, (
        f"{name} with the tiny test overrides has {model.count_params()} params; "
        "add an entry to TINY_OVERRIDES in tests/harness.py."
    )


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("shape", [(16, 16, 1), (8, 8, 1), (9, 7, 3)])
def test_outputs_logits(name, shape):
    _, out = run_model_test(tiny_model, {"name": name, "input_shape": shape, "num_classes": 5},
                            images(4, shape), (4, 5), "float32")
    assert not np.allclose(out.sum(axis=-1), 1.0, atol=1e-3), "outputs look like probabilities"


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_config_round_trip(name):
    model = tiny_model(name)
    config = model.get_config()
    json.dumps(config)  # plain JSON-serializable values only
    clone = type(model).from_config(config)
    assert type(clone) is type(model)
    assert clone.get_config() == config
    assert _architecture(clone) == _architecture(model)
    assert clone.count_params() == model.count_params()
    perturb_weights(model)
    clone.set_weights(model.get_weights())
    x = images(3, model.input_shape[1:])
    np.testing.assert_allclose(_predict(clone, x), _predict(model, x), atol=1e-6)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_keras_save_and_load(name, tmp_path):
    model = tiny_model(name)
    perturb_weights(model)
    run_saving_test(model, images(3, model.input_shape[1:]), tmp_path, atol=1e-6)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_fit_lowers_the_loss(name):
    # Learnable: the class is the brightness bin of a noisy constant image.
    num_classes, n = 3, 96
    rng = np.random.default_rng(0)
    y = rng.integers(0, num_classes, size=n)
    levels = (np.arange(num_classes) + 0.5) / num_classes
    x = np.clip(levels[y, None, None, None] + 0.05 * rng.standard_normal((n, 8, 8, 1)), 0, 1)
    model = tiny_model(name, input_shape=(8, 8, 1), num_classes=num_classes)
    model.compile(optimizer=keras.optimizers.Adam(5e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=False)  # XLA compilation would dominate the run time on CPU
    losses = model.fit(x.astype("float32"), y, batch_size=32, epochs=10, verbose=0).history["loss"]
    assert losses[-1] < 0.9 * losses[0], losses


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("kwargs, error, arg", BAD_COMMON_ARGS)
def test_bad_common_args(name, kwargs, error, arg):
    with pytest.raises(error, match=arg):
        tiny_model(name, **kwargs)


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("dropout", [-0.1, 1.0, "0.5"])
def test_bad_dropout(name, dropout):
    if "dropout" not in inspect.signature(model_info(name)["cls"]).parameters:
        pytest.skip(f"{name} has no dropout argument")
    with pytest.raises((ValueError, TypeError), match="dropout"):
        tiny_model(name, dropout=dropout)


@pytest.mark.parametrize("name, kwargs, error, arg",
                         [case for case in BAD_MODEL_ARGS if case[0] in CLASSIFIERS])
def test_bad_model_args(name, kwargs, error, arg):
    with pytest.raises(error, match=arg):
        tiny_model(name, **kwargs)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_dropout_is_used_when_set(name):
    if "dropout" not in inspect.signature(model_info(name)["cls"]).parameters:
        pytest.skip(f"{name} has no dropout argument")
    model = tiny_model(name, dropout=0.5)
    assert any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)
    assert model.get_config()["dropout"] == 0.5


def test_check_input_shape_normalizes():
    assert check_input_shape([np.int64(8), 8, 1]) == (8, 8, 1)
    assert all(type(d) is int for d in check_input_shape((np.int32(8), 8, 1)))


def test_check_units():
    assert check_units([3, np.int64(2)], "hidden_units") == (3, 2)
    assert check_units((), "hidden_units") == ()


def test_default_sizes_match_the_papers():
    """Spot checks of the architectures at their defaults (28x28x1, 10 classes)."""
    resnet = create_model("resnet")
    convs = [layer for layer in resnet.layers
             if isinstance(layer, keras.layers.Conv2D) and not layer.name.endswith("_proj")]
    assert len(convs) + 1 == 14  # ResNet-14: 6n + 2 with n = 2
    assert resnet.get_layer("stage3_block2_relu2").output.shape[1:] == (7, 7, 64)
    mobilenet = create_model("mobilenet_v2")
    assert mobilenet.get_layer("head_relu6").output.shape[1:3] == (4, 4)
    assert all(layer.max_value == 6.0 for layer in mobilenet.layers if isinstance(layer, keras.layers.ReLU))
    mlp = create_model("mlp")
    assert [layer.units for layer in mlp.layers if isinstance(layer, keras.layers.Dense)] == [500, 150, 10]
    assert mlp.count_params() == 784 * 500 + 500 + 500 * 150 + 150 + 150 * 10 + 10
