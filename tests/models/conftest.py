"""Shared fixtures for the model tests (tiny models and data: `tests/harness.py`)."""

import keras
import pytest


@pytest.fixture(autouse=True)
def _seed():
    """Deterministic weights in every test."""
    keras.utils.set_random_seed(0)
