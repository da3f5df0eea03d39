import io
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.export.helpers import CLASSES, EXPORT_MODELS, SHAPE, build_tiny, is_classifier, keras_outputs
from tests.harness import images
from tfdefend.export import export_saved_model
from tfdefend.models import create_model


def _png_batch(x):
    return tf.constant([tf.io.encode_png(tf.constant(np.round(i * 255).astype(np.uint8))).numpy() for i in x])


@pytest.mark.parametrize("name", EXPORT_MODELS)
def test_signatures_reproduce_the_keras_model(name, tmp_path):
    model = build_tiny(name)
    path = tmp_path / "sm"
    assert export_saved_model(model, path, input_shape=SHAPE) == str(path)
    loaded = tf.saved_model.load(str(path))
    assert set(loaded.signatures) == {"serving_default", "serving_bytes"}
    x = images(4, SHAPE, levels=255)
    expected = keras_outputs(model, x, is_classifier(name))

    serving = loaded.signatures["serving_default"]
    spec = serving.structured_input_signature[1]["images"]
    assert spec.dtype == tf.float32 and spec.shape.as_list() == [None, *SHAPE]
    assert set(serving.structured_outputs) == set(expected)
    out = serving(images=tf.constant(x))
    for key, value in expected.items():
        np.testing.assert_allclose(out[key].numpy(), value, atol=1e-5, err_msg=key)

    from_bytes = loaded.signatures["serving_bytes"]
    assert from_bytes.structured_input_signature[1]["image_bytes"].dtype == tf.string
    out = from_bytes(image_bytes=_png_batch(x))
    for key, value in expected.items():
        np.testing.assert_allclose(out[key].numpy(), value, atol=1e-5, err_msg=key)
    assert not [p for p in os.listdir(tmp_path) if p != "sm"]  # no temporary left behind


def test_saved_model_cli_lists_the_signatures(tmp_path, monkeypatch, capsys):
    """`saved_model_cli show --dir D --all`, run in-process: the console script's `main`, no TF re-import."""
    from absl import logging
    from tensorflow.python.tools import saved_model_cli

    export_saved_model(build_tiny("defended_comdefend"), tmp_path / "sm")
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["saved_model_cli", "show", "--dir", str(tmp_path / "sm"), "--all"])
    verbosity = logging.get_verbosity()
    try:
        saved_model_cli.main()
    except SystemExit as exc:  # absl's app.run exits after the command
        assert not exc.code
    finally:
        logging.set_verbosity(verbosity)
    shown = capsys.readouterr().out
    default = shown[shown.index("signature_def['serving_default']"):]
    for text in ("inputs['images']", "DT_FLOAT", f"shape: (-1, {', '.join(map(str, SHAPE))})",
                 "outputs['logits']", "outputs['probabilities']", f"shape: (-1, {CLASSES})",
                 "tensorflow/serving/predict"):
        assert text in default, text
    start = shown.index("signature_def['serving_bytes']")
    from_bytes = shown[start:shown.index("signature_def['serving_default']")]
    for text in ("inputs['image_bytes']", "DT_STRING", "shape: (-1)", "outputs['logits']"):
        assert text in from_bytes, text


def _encode(pixels, fmt, mode):
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, format=fmt)
    return buffer.getvalue()


def test_bytes_signature_converts_formats_channels_and_sizes(tmp_path):
    rng = np.random.default_rng(1)
    gray = create_model("small_cnn", input_shape=(12, 12, 1), num_classes=CLASSES, filters=4, dense_units=8)
    rgb = create_model("small_cnn", input_shape=(12, 12, 3), num_classes=CLASSES, filters=4, dense_units=8)
    export_saved_model(gray, tmp_path / "gray")
    export_saved_model(rgb, tmp_path / "rgb")
    color = rng.integers(0, 256, size=(12, 12, 3), dtype=np.uint8)
    big = rng.integers(0, 256, size=(30, 20, 3), dtype=np.uint8)
    files = {  # name: (encoded bytes, the pixels TF decodes: gray for gray PNGs, RGB otherwise, GIFs included)
        "png_rgb": (_encode(color, "PNG", "RGB"), color),
        "png_rgba": (_encode(color, "PNG", "RGBA"), color),
        "png_gray": (_encode(color, "PNG", "L"), np.asarray(Image.fromarray(color).convert("L"))[..., None]),
        "bmp_rgb": (_encode(color, "BMP", "RGB"), color),
        "gif_gray": (_encode(color[..., :1].repeat(3, -1), "GIF", "L"), color[..., :1].repeat(3, -1)),
        "jpeg_big": (_encode(big, "JPEG", "RGB"), tf.io.decode_jpeg(_encode(big, "JPEG", "RGB")).numpy()),
    }

    def expected(model, pixels):
        image = tf.convert_to_tensor(pixels.astype(np.float32) / 255)
        if model.input_shape[-1] == 1 and pixels.shape[-1] == 3:
            image = tf.image.rgb_to_grayscale(image)
        elif model.input_shape[-1] == 3 and pixels.shape[-1] == 1:
            image = tf.tile(image, [1, 1, 3])
        if image.shape[:2] != (12, 12):
            image = tf.image.resize(image, (12, 12), antialias=True)
        return model(tf.clip_by_value(image, 0.0, 1.0)[None], training=False).numpy()[0]

    batch = tf.constant([data for data, _ in files.values()])
    for model, path in ((gray, tmp_path / "gray"), (rgb, tmp_path / "rgb")):
        served = tf.saved_model.load(str(path)).signatures["serving_bytes"](image_bytes=batch)["logits"].numpy()
        for row, (name, (_, pixels)) in zip(served, files.items()):
            np.testing.assert_allclose(row, expected(model, pixels), atol=1e-5, err_msg=name)


def test_overwrite_is_refused_unless_asked(tmp_path):
    first = build_tiny("small_cnn")
    second = build_tiny("small_cnn")
    path = tmp_path / "sm"
    export_saved_model(first, path)
    with pytest.raises(FileExistsError, match="overwrite"):
        export_saved_model(second, path)
    x = images(4, SHAPE, levels=255)
    loaded = tf.saved_model.load(str(path)).signatures["serving_default"]
    np.testing.assert_allclose(loaded(images=tf.constant(x))["logits"].numpy(), first(x), atol=1e-5)
    export_saved_model(second, path, overwrite=True)
    loaded = tf.saved_model.load(str(path)).signatures["serving_default"]
    np.testing.assert_allclose(loaded(images=tf.constant(x))["logits"].numpy(), second(x), atol=1e-5)
    assert sorted(os.listdir(tmp_path)) == ["sm"]


def _break_saving(monkeypatch):
    """Makes Keras' SavedModel writer fail half-way: a partial SavedModel is on disk, then an error."""

    def write_out(self, filepath, **kwargs):
        os.makedirs(filepath)
        with open(os.path.join(filepath, "saved_model.pb"), "wb") as handle:
            handle.write(b"half a graph")
        raise OSError("disk full")

    # `keras.export.ExportArchive()` returns an instance of the backend's archive class.
    monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", write_out)


def test_a_failed_save_leaves_nothing_at_the_path(tmp_path, monkeypatch):
    model = build_tiny("small_cnn")
    _break_saving(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        export_saved_model(model, tmp_path / "sm")
    assert os.listdir(tmp_path) == []
    # With overwrite=True, a failure keeps the previous SavedModel intact.
    monkeypatch.undo()
    export_saved_model(model, tmp_path / "sm")
    before = sorted(os.listdir(tmp_path / "sm"))
    _break_saving(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        export_saved_model(build_tiny("small_cnn"), tmp_path / "sm", overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["sm"] and sorted(os.listdir(tmp_path / "sm")) == before
    monkeypatch.undo()
    x = images(4, SHAPE, levels=255)
    loaded = tf.saved_model.load(str(tmp_path / "sm")).signatures["serving_default"]
    np.testing.assert_allclose(loaded(images=tf.constant(x))["logits"].numpy(), model(x), atol=1e-5)


def test_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="input_shape"):
        export_saved_model(create_model("jpeg"), tmp_path / "a")
    with pytest.raises(ValueError, match="differs"):
        export_saved_model(build_tiny("small_cnn"), tmp_path / "b", input_shape=(8, 8, 1))
    with pytest.raises(ValueError, match="input_shape"):
        export_saved_model(create_model("bit_depth"), tmp_path / "c", input_shape=(8, 8))
    with pytest.raises(ValueError, match="encoder"):
        export_saved_model(build_tiny("comcnn"), tmp_path / "d")
    with pytest.raises(ValueError, match="kind"):
        export_saved_model(build_tiny("small_cnn"), tmp_path / "e", kind="generator")
    with pytest.raises(TypeError, match="keras.Model"):
        export_saved_model(lambda x: x, tmp_path / "f")
    assert os.listdir(tmp_path) == []
