"""Tests for DenoiserToolbox: the tools, their order, per-image dispatch and serialization."""

import json

import numpy as np
import pytest
import tensorflow as tf

from tests.harness import images, run_saving_test
from tfdefend.models import DenoiserToolbox, LightDenoiser, create_model, model_info

SHAPE = (8, 8, 1)
TINY = {"strengths": (1, 4), "depths": (2, 3), "filters": 4}


def _random_toolbox(shape=SHAPE, seed=3):
    """A tiny toolbox whose tools differ from each other and from the identity."""
    toolbox = DenoiserToolbox(shape, **TINY)
    rng = np.random.default_rng(seed)
    for tool in toolbox.tools:
        layer = tool.get_layer("correction")
        layer.set_weights([0.2 * rng.standard_normal(w.shape).astype("float32") for w in layer.get_weights()])
    return toolbox


def _by_hand(toolbox, x, index):
    return np.stack([np.asarray(toolbox.tools[k](x[i:i + 1], training=False))[0]
                     for i, k in enumerate(index)])


def test_registered_as_a_toolbox_with_the_seed_tools():
    info = model_info("denoiser_toolbox")
    assert info["cls"] is DenoiserToolbox
    assert info["kind"] == "toolbox"
    toolbox = create_model("denoiser_toolbox")
    assert toolbox.num_tools == 10
    assert toolbox.tool_names == [f"fgsm{s}_depth{d}" for s in (1, 2, 4, 8, 16) for d in (3, 8)]
    assert [tool.name for tool in toolbox.tools] == toolbox.tool_names
    assert [tool.depth for tool in toolbox.tools] == [3, 8] * 5
    assert all(isinstance(tool, LightDenoiser) and tool.filters == 32 for tool in toolbox.tools)
    assert toolbox.output_shape == (None, 10, 28, 28, 1)


def test_tools_are_strength_major():
    toolbox = DenoiserToolbox(SHAPE, strengths=(2, 1), depths=(3, 2), filters=4)
    assert toolbox.tool_names == ["fgsm2_depth3", "fgsm2_depth2", "fgsm1_depth3", "fgsm1_depth2"]
    assert [tool.depth for tool in toolbox.tools] == [3, 2, 3, 2]
    assert toolbox.strengths == (2, 1) and toolbox.depths == (3, 2)


@pytest.mark.parametrize("shape", [(8, 8, 1), (9, 7, 3)])
def test_untrained_tools_are_the_identity(shape):
    toolbox = DenoiserToolbox(shape, **TINY)
    x = images(3, shape)
    stacked = np.asarray(toolbox(x, training=False))
    assert stacked.shape == (3, 4, *shape)
    np.testing.assert_allclose(stacked, np.broadcast_to(x[:, None], stacked.shape), atol=1e-7)
    np.testing.assert_allclose(np.asarray(toolbox.apply(x, [3, 0, 1])), x, atol=1e-7)


def test_call_stacks_every_tool():
    toolbox = _random_toolbox()
    x = images(3, SHAPE)
    stacked = np.asarray(toolbox(x, training=False))
    for k, tool in enumerate(toolbox.tools):
        np.testing.assert_allclose(stacked[:, k], np.asarray(tool(x, training=False)), atol=1e-6)
    assert np.abs(stacked[:, 0] - stacked[:, 3]).max() > 1e-2


@pytest.mark.parametrize("index", [[0, 3, 1, 2, 3, 0], [2, 2, 2, 2, 2, 2], [1], [3]])
def test_gather_equals_dense_equals_by_hand(index):
    toolbox = _random_toolbox()
    x = images(len(index), SHAPE)
    expected = _by_hand(toolbox, x, index)
    gather = np.asarray(toolbox.apply(x, np.array(index, "int32")))
    dense = np.asarray(toolbox.apply(x, tf.constant(index), mode="dense"))
    np.testing.assert_allclose(gather, expected, atol=1e-6)
    np.testing.assert_allclose(dense, expected, atol=1e-6)


@pytest.mark.parametrize("batch", [None, 1])
@pytest.mark.parametrize("mode", ["gather", "dense"])
def test_apply_in_a_tf_function(mode, batch):
    toolbox = _random_toolbox()
    index = [3, 1, 0, 1] if batch is None else [2]
    x = images(len(index), SHAPE)
    run = tf.function(lambda images, k: toolbox.apply(images, k, mode),
                      input_signature=[tf.TensorSpec((batch, *SHAPE)), tf.TensorSpec((batch,), tf.int32)])
    np.testing.assert_allclose(run(x, tf.constant(index)).numpy(), _by_hand(toolbox, x, index), atol=1e-6)


@pytest.mark.parametrize("mode", ["gather", "dense"])
def test_skipped_images_are_unchanged(mode):
    toolbox = _random_toolbox()
    x, index = images(4, SHAPE), [1, 2, 3, 0]
    skip = np.array([True, False, True, False])
    out = np.asarray(toolbox.apply(x, index, mode, skip=skip))
    np.testing.assert_array_equal(out[skip], x[skip])
    np.testing.assert_allclose(out[~skip], _by_hand(toolbox, x[~skip], [2, 0]), atol=1e-6)


def test_gradient_flows_through_the_chosen_tool():
    toolbox = _random_toolbox()
    x = tf.constant(images(2, SHAPE))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = tf.reduce_sum(toolbox.apply(x, [0, 3]))
    grad = tape.gradient(out, x)
    assert grad is not None and float(tf.reduce_sum(tf.abs(grad))) > 0


@pytest.mark.parametrize("graph", [False, True])
def test_tools_that_no_image_chose_are_not_run_on_an_empty_batch(graph):
    """Most tools get no image: gather must equal dense, eager and in a graph (oneDNN AVX-512 regression).

    TF's oneDNN Conv2D on a batch of 0 returns the wrong channel count on AVX-512 CPUs, so a tool run
    on an empty sub-batch broke the concat/scatter; such a tool must not run at all.
    """
    toolbox = _random_toolbox(shape=(8, 8, 3))
    x = images(6, (8, 8, 3))
    index = np.array([2, 2, 2, 2, 2, 2], np.int32)  # tools 0, 1 and 3 get no image
    skip = np.array([False, True, False, False, True, False])
    gather = toolbox.apply if not graph else tf.function(lambda x, i, s: toolbox.apply(x, i, skip=s))
    got = gather(x, index, skip=skip) if not graph else gather(tf.constant(x), tf.constant(index),
                                                                tf.constant(skip))
    dense = toolbox.apply(x, index, mode="dense", skip=skip)
    np.testing.assert_allclose(np.asarray(got), np.asarray(dense), atol=1e-5)
    np.testing.assert_allclose(np.asarray(got)[skip], x[skip])
    np.testing.assert_allclose(np.asarray(got)[~skip], _by_hand(toolbox, x[~skip], index[~skip]), atol=1e-5)


@pytest.mark.parametrize("index", [[0, 4], [-1, 0]])
def test_out_of_range_index_is_refused(index):
    with pytest.raises(ValueError, match=r"tool_index.*\[0, 4\)"):
        _random_toolbox().apply(images(2, SHAPE), index)


@pytest.mark.parametrize("batch", [None, 1])
@pytest.mark.parametrize("mode", ["gather", "dense"])
def test_out_of_range_index_in_a_graph_gives_zeros(mode, batch):
    toolbox = _random_toolbox()
    run = tf.function(lambda images, k: toolbox.apply(images, k, mode),
                      input_signature=[tf.TensorSpec((batch, *SHAPE)), tf.TensorSpec((batch,), tf.int32)])
    np.testing.assert_array_equal(run(images(1, SHAPE), tf.constant([4])).numpy(), np.zeros((1, *SHAPE)))


def test_bad_apply_args():
    toolbox = _random_toolbox()
    with pytest.raises(ValueError, match="mode"):
        toolbox.apply(images(1, SHAPE), [0], mode="loop")
    with pytest.raises(ValueError, match="images"):
        toolbox.apply(images(1, (9, 8, 1)), [0])


def test_config_holds_only_hyperparameters_and_round_trips():
    toolbox = _random_toolbox()
    config = toolbox.get_config()
    json.dumps(config)
    assert set(config) == {"name", "trainable", "dtype", "input_shape", "strengths", "depths", "filters"}
    clone = DenoiserToolbox.from_config(config)
    assert clone.get_config() == config and clone.tool_names == toolbox.tool_names
    clone.set_weights(toolbox.get_weights())
    x = images(3, SHAPE)
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(toolbox(x)), atol=1e-7)


def test_keras_save_and_load_restores_every_tool(tmp_path):
    toolbox = _random_toolbox()
    reloaded = run_saving_test(toolbox, images(4, SHAPE), tmp_path,
                               outputs=lambda m, x: [m(x), m.apply(x, [0, 1, 2, 3])])
    assert type(reloaded) is DenoiserToolbox
    assert len(reloaded.tools) == len(toolbox.tools)
    for tool, original in zip(reloaded.tools, toolbox.tools):
        for w, v in zip(tool.get_weights(), original.get_weights(), strict=True):
            np.testing.assert_array_equal(w, v)


@pytest.mark.parametrize("kwargs, error, arg", [
    ({"strengths": ()}, ValueError, "strengths"),
    ({"strengths": (1, 1)}, ValueError, "strengths"),
    ({"strengths": (1, 0)}, ValueError, "strengths"),
    ({"strengths": 1}, TypeError, "strengths"),
    ({"depths": (1,)}, ValueError, "depths"),
    ({"depths": (3, 3)}, ValueError, "depths"),
    ({"filters": 0}, ValueError, "filters"),
    ({"input_shape": (8, 8)}, ValueError, "input_shape"),
    ({"no_such_arg": 1}, TypeError, "no_such_arg"),
])
def test_bad_args(kwargs, error, arg):
    with pytest.raises(error, match=arg):
        DenoiserToolbox(**{"input_shape": SHAPE, **TINY, **kwargs})
