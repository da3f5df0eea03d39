"""Shared fixtures for the model tests: tiny per-model overrides."""

import inspect

import keras
import pytest

from tfdefend.models import create_model, model_info

TINY_SHAPE = (16, 16, 1)
TINY_CLASSES = 3

# Overrides that make each registered model small enough for fast CPU tests.
# A classifier registered without an entry here is tested with the shape/class
# overrides only, and `test_classifiers.py::test_tiny_model_is_small` fails if its
# defaults are then too large to test quickly (add an entry here in that case).
TINY_OVERRIDES = {
    "small_cnn": {"filters": 4, "dense_units": 16},
    "resnet": {"filters": 4, "blocks_per_stage": 1},
    "mobilenet_v2": {"alpha": 0.25, "expansion": 2, "head_channels": 32},
    "mlp": {"hidden_units": (32, 16)},
    # Preprocessors, encoders and decoders (no `num_classes`).
    "comdefend": {"code_channels": 4, "comcnn_filters": (4, 8), "rescnn_filters": (8, 4)},
    "comdefend_residual": {"code_channels": 4, "comcnn_filters": (4, 8), "rescnn_filters": (8, 4),
                           "residual_blocks": 1},
    "comcnn": {"code_channels": 4, "filters": (4, 8)},
    "rescnn": {"filters": (8, 4)},
    "dae": {"filters": (4, 8)},
    "uddn": {"filters": (4, 8)},
    # The RL denoiser chain: light tools, their toolbox, the Q-agent, the chain; and DnCNN.
    "light_denoiser": {"depth": 2, "filters": 4},
    "dncnn": {"depth": 3, "filters": 4},
    "denoiser_toolbox": {"strengths": (1, 4), "depths": (2, 3), "filters": 4},
    "denoiser_agent": {"num_actions": 5, "conv_filters": (4, 4), "kernel_sizes": (3, 3), "fc_units": 8,
                       "lstm_units": 8},
    "rl_denoiser_chain": {"toolbox": {"strengths": (1, 4), "depths": (2, 3), "filters": 4},
                          "agent": {"conv_filters": (4, 4), "kernel_sizes": (3, 3), "fc_units": 8,
                                    "lstm_units": 8}},
    # GNR's generator (latent -> noise image) and critic (image -> score).
    "gnr_generator": {"latent_dim": 8, "filters": (8, 4)},
    "gnr_critic": {"filters": (4, 8)},
}


@pytest.fixture
def tiny_overrides():
    """Factory: `tiny_overrides(name, input_shape=..., num_classes=...)` -> constructor kwargs."""

    def make(name, input_shape=TINY_SHAPE, num_classes=TINY_CLASSES):
        return {"input_shape": input_shape, "num_classes": num_classes, **TINY_OVERRIDES.get(name, {})}

    return make


@pytest.fixture
def tiny_image_model():
    """Factory: `tiny_image_model(name, input_shape=...)` -> a tiny non-classifier model.

    `input_shape` is passed only to models that take one (the parameter-free
    preprocessors work on any shape); a decoder gets the code shape
    `(height, width, code_channels)` and outputs `input_shape[-1]` channels.
    """

    def make(name, input_shape=TINY_SHAPE, **kwargs):
        info = model_info(name)
        params = inspect.signature(info["cls"]).parameters
        overrides = {**TINY_OVERRIDES.get(name, {}), **kwargs}
        if info["kind"] == "decoder":
            overrides = {"input_shape": (*input_shape[:2], 4), "output_channels": input_shape[-1],
                         **overrides}
        elif "input_shape" in params:
            overrides = {"input_shape": input_shape, **overrides}
        return create_model(name, **overrides)

    return make


@pytest.fixture(autouse=True)
def _seed():
    """Deterministic weights in every test."""
    keras.utils.set_random_seed(0)
