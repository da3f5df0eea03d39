"""Fixtures of the fuzz tests: one tiny untrained classifier, built once."""

import keras
import pytest


@pytest.fixture(scope="session")
def fuzz_model():
    """small_cnn on 8x8x1 images, 10 classes, 4 filters (untrained: only shapes and validation matter)."""
    from tfdefend.models import create_model

    keras.utils.set_random_seed(0)
    return create_model("small_cnn", input_shape=(8, 8, 1), num_classes=10, filters=4)
