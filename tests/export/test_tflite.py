import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.export.helpers import (
    EXPORT_MODELS,
    SHAPE,
    LiteRT,
    assert_builtin_only,
    build_tiny,
    is_classifier,
    keras_outputs,
)
from tests.harness import images
from tfdefend.data import load
from tfdefend.export import export_tflite
from tfdefend.models import DefendedClassifier, create_model

# Preprocessors built from TF ops that have no TFLite builtin kernel.
NOT_BUILTIN = {"jpeg": "JPEGCompression", "median": "MedianSmoothing"}


@pytest.mark.parametrize("name", EXPORT_MODELS)
def test_float_export_matches_keras(name, tmp_path):
    model = build_tiny(name)
    path = tmp_path / f"{name}.tflite"
    if name in NOT_BUILTIN:
        with pytest.raises(ValueError, match=rf"{NOT_BUILTIN[name]} .*builtin ops only.*saved_model"):
            export_tflite(model, path, input_shape=SHAPE)
        assert os.listdir(tmp_path) == []
        return
    assert export_tflite(model, path, input_shape=SHAPE) == str(path)
    runtime = LiteRT(path)
    assert_builtin_only(runtime)
    assert runtime.inputs["images"]["shape"].tolist() == [1, *SHAPE]
    x = images(3, SHAPE)
    expected = keras_outputs(model, x, is_classifier(name))
    out = runtime(x)
    assert set(out) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(out[key], value, atol=1e-4, err_msg=key)
    assert os.listdir(tmp_path) == [path.name]


def test_defended_classifier_with_a_squeezer_names_the_culprit(tmp_path):
    defended = DefendedClassifier(create_model("jpeg"), build_tiny("small_cnn"))
    with pytest.raises(ValueError, match=r"JPEGCompression .*inside DefendedClassifier.*EncodeJpeg"):
        export_tflite(defended, tmp_path / "d.tflite")
    defended = DefendedClassifier(create_model("median"), build_tiny("small_cnn"))
    with pytest.raises(ValueError, match=r"MedianSmoothing .*ExtractImagePatches"):
        export_tflite(defended, tmp_path / "d.tflite")


class _Patches(keras.layers.Layer):
    def call(self, x):
        patches = tf.image.extract_patches(x, sizes=[1, 2, 2, 1], strides=[1, 1, 1, 1], rates=[1, 1, 1, 1],
                                           padding="SAME")
        return tf.reduce_mean(patches, axis=-1, keepdims=True)


def test_any_other_non_builtin_op_is_a_clear_error(tmp_path):
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, _Patches()(inputs), name="patchy")
    with pytest.raises(ValueError, match=r"Functional 'patchy' cannot be exported .*ExtractImagePatches"):
        export_tflite(model, tmp_path / "p.tflite")
    assert os.listdir(tmp_path) == []


@pytest.fixture(scope="module")
def calibration():
    """200 real digits training images (the representative data of int8)."""
    x, _ = load("digits", "train", as_numpy=True, limit=200)
    return x


@pytest.fixture(scope="module")
def defended_digits(digits_model):
    """A DAE (briefly trained on digits) in front of the trained digits classifier: one graph."""
    classifier = digits_model[0]
    keras.utils.set_random_seed(0)
    x_train, _ = load("digits", "train", as_numpy=True)
    dae = create_model("dae", input_shape=(8, 8, 1), filters=(8, 16), noise_std=0.1)
    dae.compile(optimizer=keras.optimizers.Adam(3e-3))
    dae.fit(x_train, epochs=3, batch_size=32, verbose=0)
    return DefendedClassifier(dae, classifier)


def _agreement(runtime, model, x):
    tflite_top1 = np.argmax(runtime(x)["logits"], axis=1)
    keras_top1 = np.argmax(np.asarray(model(x, training=False)), axis=1)
    return float(np.mean(tflite_top1 == keras_top1))


def test_fp16_and_dynamic_are_close(digits_model, tmp_path):
    model, x_test, _, _ = digits_model
    float_size = 4 * model.count_params()  # float32 weights (the float file is this plus a few KiB)
    x = x_test[:50]
    logits = np.asarray(model(x, training=False))
    for quantization, max_relative_error in (("fp16", 0.01), ("dynamic", 0.1)):
        path = export_tflite(model, tmp_path / f"{quantization}.tflite", quantization=quantization)
        runtime = LiteRT(path)
        assert_builtin_only(runtime)
        assert runtime.inputs["images"]["dtype"] == np.float32
        assert os.path.getsize(path) < 0.6 * float_size, quantization
        error = np.max(np.abs(runtime(x)["logits"] - logits)) / np.max(np.abs(logits))
        assert error < max_relative_error, quantization
        assert _agreement(runtime, model, x) >= 0.98


def test_int8_keeps_top1_agreement_with_uint8_io(digits_model, calibration, tmp_path):
    model, x_test, _, _ = digits_model
    path = export_tflite(model, tmp_path / "int8.tflite", quantization="int8", representative_data=calibration)
    runtime = LiteRT(path)
    assert_builtin_only(runtime)
    spec = runtime.inputs["images"]
    assert spec["dtype"] == np.uint8
    assert {runtime.outputs[k]["dtype"] for k in ("logits", "probabilities")} == {np.uint8}
    scale, zero_point = spec["quantization"]
    # The calibration images span [0, 1]: the uint8 input is (almost) the 8-bit pixel value.
    assert scale == pytest.approx(1 / 255, rel=0.01) and zero_point == 0
    assert _agreement(runtime, model, x_test) >= 0.98


def test_defended_classifier_exports_as_one_graph(defended_digits, calibration, tmp_path):
    x = load("digits", "test", as_numpy=True, limit=200)[0]
    float_runtime = LiteRT(export_tflite(defended_digits, tmp_path / "defended.tflite"))
    assert_builtin_only(float_runtime)
    ops = float_runtime.ops()
    assert {"TRANSPOSE_CONV", "MAX_POOL_2D"} <= ops  # the DAE's decoder and the classifier, one graph
    expected = keras_outputs(defended_digits, x[:20], classifier=True)
    out = float_runtime(x[:20])
    for key, value in expected.items():
        np.testing.assert_allclose(out[key], value, atol=1e-4, err_msg=key)
    int8_runtime = LiteRT(export_tflite(defended_digits, tmp_path / "defended_int8.tflite", quantization="int8",
                                        representative_data=calibration))
    assert_builtin_only(int8_runtime)
    assert _agreement(int8_runtime, defended_digits, x) >= 0.95


def test_argument_errors(tmp_path):
    model = build_tiny("small_cnn")
    x = images(4, SHAPE)
    with pytest.raises(ValueError, match="`quantization`"):
        export_tflite(model, tmp_path / "m.tflite", quantization="int4")
    with pytest.raises(ValueError, match="`representative_data` is required"):
        export_tflite(model, tmp_path / "m.tflite", quantization="int8")
    with pytest.raises(ValueError, match="`representative_data` is only used"):
        export_tflite(model, tmp_path / "m.tflite", quantization="fp16", representative_data=x)
    with pytest.raises(ValueError, match="shape"):
        export_tflite(model, tmp_path / "m.tflite", quantization="int8", representative_data=x[:, :8])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        export_tflite(model, tmp_path / "m.tflite", quantization="int8", representative_data=x * 255)
    with pytest.raises(ValueError, match=".tflite"):
        export_tflite(model, tmp_path / "m.lite")
    with pytest.raises(ValueError, match="input_shape"):
        export_tflite(create_model("bit_depth"), tmp_path / "m.tflite")
    assert os.listdir(tmp_path) == []


def test_overwrite_refused_and_atomic(tmp_path, monkeypatch):
    model = build_tiny("mlp")
    path = tmp_path / "m.tflite"
    export_tflite(model, path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite"):
        export_tflite(model, path, quantization="fp16")
    assert path.read_bytes() == before

    def failing_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)  # the new bytes are written, then the write fails
    with pytest.raises(OSError, match="disk full"):
        export_tflite(model, path, quantization="fp16", overwrite=True)
    with pytest.raises(OSError, match="disk full"):
        export_tflite(model, tmp_path / "new.tflite")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["m.tflite"] and path.read_bytes() == before
