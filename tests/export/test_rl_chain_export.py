"""The RL denoiser chain exports with its loop inside: SavedModel (any batch), TFLite (builtin ops, batch 1).

The chain has random tools and a random agent whose greedy policy picks
different tools per image and stops some images early, so the exported
graphs must reproduce the per-image dispatch, not just the identity.
"""

import numpy as np
import pytest
import tensorflow as tf

from tests.export.helpers import LiteRT, assert_builtin_only
from tests.harness import images
from tests.models.test_rl_denoiser_chain import IMAGE_SEED, SHAPE, random_chain
from tfdefend.export import export_saved_model, export_tflite

MODES = ["gather", "dense"]


def _check_policy_varies(chain, x):
    actions = np.asarray(chain.choose(x))
    assert len(set(actions[:, 0].tolist())) >= 3, actions
    assert (actions == chain.stop_action).any() and (actions >= 0).all(axis=1).any(), actions


@pytest.mark.parametrize("mode", MODES)
def test_saved_model_reproduces_the_chain(mode, tmp_path):
    chain = random_chain(tool_execution=mode)
    x = images(16, SHAPE, seed=IMAGE_SEED)
    _check_policy_varies(chain, x)
    expected = np.asarray(chain(x))
    export_saved_model(chain, tmp_path / "sm", bytes_signature=False)
    serving = tf.saved_model.load(str(tmp_path / "sm")).signatures["serving_default"]
    assert serving.structured_input_signature[1]["images"].shape.as_list() == [None, 8, 8, 1]
    np.testing.assert_allclose(serving(images=tf.constant(x))["images"].numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(serving(images=tf.constant(x[:1]))["images"].numpy(), expected[:1], atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_float_tflite_reproduces_the_chain(mode, tmp_path):
    chain = random_chain(tool_execution=mode)
    x = images(16, SHAPE, seed=IMAGE_SEED)
    _check_policy_varies(chain, x)
    expected = np.asarray(chain(x))
    if mode == "gather":
        path = export_tflite(chain, tmp_path / "chain.tflite")
    else:
        path = export_tflite(chain, tmp_path / "chain.tflite", quantization=None)
    runtime = LiteRT(path)
    assert_builtin_only(runtime)
    ops = [op["op_name"] for op in runtime.interpreter._get_ops_details()]
    if mode == "gather":
        # Batch 1: one IF per tool and step, only the chosen tool's branch runs; no dynamic shapes.
        assert ops.count("IF") == chain.max_steps * chain.num_tools
        assert not {"WHERE", "GATHER_ND", "SCATTER_ND", "SUM"} & set(ops), set(ops)
    else:
        assert "IF" not in ops and "SUM" in ops and "ONE_HOT" in ops
    np.testing.assert_allclose(runtime(x)["images"], expected, atol=1e-4)
