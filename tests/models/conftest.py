"""Shared fixtures for the model tests: tiny per-model overrides."""

import keras
import pytest

TINY_SHAPE = (16, 16, 1)
TINY_CLASSES = 3

# Overrides that make each registered classifier small enough for fast CPU tests.
# A classifier registered without an entry here is tested with the shape/class
# overrides only, and `test_classifiers.py::test_tiny_model_is_small` fails if its
# defaults are then too large to test quickly (add an entry here in that case).
TINY_OVERRIDES = {
    "small_cnn": {"filters": 4, "dense_units": 16},
    "resnet": {"filters": 4, "blocks_per_stage": 1},
    "mobilenet_v2": {"alpha": 0.25, "expansion": 2, "head_channels": 32},
    "mlp": {"hidden_units": (32, 16)},
}


@pytest.fixture
def tiny_overrides():
    """Factory: `tiny_overrides(name, input_shape=..., num_classes=...)` -> constructor kwargs."""

    def make(name, input_shape=TINY_SHAPE, num_classes=TINY_CLASSES):
        return {"input_shape": input_shape, "num_classes": num_classes, **TINY_OVERRIDES.get(name, {})}

    return make


@pytest.fixture(autouse=True)
def _seed():
    """Deterministic weights in every test."""
    keras.utils.set_random_seed(0)
