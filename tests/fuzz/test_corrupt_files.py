"""Damaged and unsafe files: truncated or bit-flipped `.keras` and `.tflite` files, a zoo manifest whose
sha256 does not match, and models holding a `Lambda` layer are refused with a clear error."""

import json
import os
import pathlib
import shutil
import tempfile

import keras
import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.fuzz.strategies import FUZZ
from tfdefend import export, models
from tfdefend.models import zoo
from tfdefend.utils import sha256_file

X1 = np.random.default_rng(2).uniform(0, 1, (1, 8, 8, 1)).astype(np.float32)


@keras.saving.register_keras_serializable(package="tfdefend_fuzz")
def double(z):
    """A registered function for a Lambda layer: serialized by name, not as bytecode, so Keras's own
    `safe_mode` would load it; the tfdefend loader still refuses every Lambda layer in safe mode."""
    return z * 2.0


@pytest.fixture(scope="module")
def files(tmp_path_factory, fuzz_model):
    root = tmp_path_factory.mktemp("corrupt")
    keras_path = str(root / "good.keras")
    export.export_keras(fuzz_model, keras_path)
    tflite_path = export.export_tflite(fuzz_model, str(root / "good.tflite"))
    paths = {"keras": keras_path, "tflite": tflite_path, "root": str(root)}
    for name, function in (("lambda", lambda z: z * 2.0), ("named_lambda", double)):
        inputs = keras.Input((8, 8, 1))
        inner = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Lambda(function)], name="inner")
        outputs = keras.layers.Dense(10)(keras.layers.Flatten()(inner(inputs)))
        keras.Model(inputs, outputs).save(root / f"{name}.keras")
        paths[name] = str(root / f"{name}.keras")
    return paths


def _damaged_copy(path, data):
    """Writes `data` to a file named like `path` in a fresh temporary folder; returns the file and folder."""
    folder = tempfile.mkdtemp()
    target = os.path.join(folder, os.path.basename(path))
    pathlib.Path(target).write_bytes(data)
    return target, folder


def _flip(data, positions):
    """`data` with the bytes at `positions` (modulo its length; each at most once) inverted."""
    data = bytearray(data)
    for position in {p % len(data) for p in positions}:
        data[position] ^= 0xFF
    return bytes(data)


# --------------------------------------------------------------------------- .keras


@settings(FUZZ, max_examples=15)
@given(fraction=st.floats(0.0, 0.999))
def test_truncated_keras_file_is_refused_naming_the_file(files, fraction):
    data = pathlib.Path(files["keras"]).read_bytes()
    path, folder = _damaged_copy(files["keras"], data[: int(len(data) * fraction)])
    try:
        with pytest.raises(ValueError, match="not a valid .keras archive") as info:
            models.load_model(path)
        assert path in str(info.value)
    finally:
        shutil.rmtree(folder)


@settings(FUZZ, max_examples=20)
@given(positions=st.lists(st.integers(0, 2**20), min_size=1, max_size=4))
def test_bit_flipped_keras_file_is_refused_or_unchanged(files, fuzz_model, positions):
    path, folder = _damaged_copy(files["keras"], _flip(pathlib.Path(files["keras"]).read_bytes(), positions))
    try:
        try:
            loaded = models.load_model(path)
        except ValueError as exc:
            event("refused")
            assert path in str(exc)
            return
        event("loaded (only zip metadata outside the CRCs changed)")
        for a, b in zip(loaded.get_weights(), fuzz_model.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    finally:
        shutil.rmtree(folder)


def test_keras_loader_refuses_other_files(files, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        models.load_model(str(tmp_path / "missing.keras"))
    with pytest.raises(ValueError, match="'.keras' file"):
        models.load_model(files["tflite"])
    with pytest.raises(TypeError, match="`path`"):
        models.load_model(3)
    (tmp_path / "text.keras").write_text("{}")
    with pytest.raises(ValueError, match="text.keras"):
        models.load_model(str(tmp_path / "text.keras"))


@pytest.mark.parametrize("name", ["lambda", "named_lambda"])
def test_lambda_layer_is_refused_unless_safe_mode_is_false(files, name):
    with pytest.raises(ValueError, match=r"Lambda layer.*safe_mode=False") as info:
        models.load_model(files[name])
    assert files[name] in str(info.value)
    with pytest.raises(TypeError, match="`safe_mode`"):
        models.load_model(files[name], safe_mode="no")
    model = models.load_model(files[name], safe_mode=False)  # the explicit opt-out
    original = keras.models.load_model(files[name], safe_mode=False)
    np.testing.assert_allclose(model(X1), original(X1))


# --------------------------------------------------------------------------- .tflite


@settings(FUZZ, max_examples=25)
@given(positions=st.lists(st.integers(0, 2**20), min_size=1, max_size=8), truncate=st.booleans())
def test_damaged_tflite_is_refused_or_runs(files, positions, truncate):
    data = pathlib.Path(files["tflite"]).read_bytes()
    damaged = data[: positions[0] % len(data)] if truncate else _flip(data, positions)
    path, folder = _damaged_copy(files["tflite"], damaged)
    try:
        with pytest.raises(
            ValueError, match="sha256|not a TFLite model"
        ) as info:  # the sha256 catches every change
            export.load_tflite(path, sha256=sha256_file(files["tflite"]))
        assert path in str(info.value)
        try:
            interpreter = export.load_tflite(path)
        except ValueError as exc:
            event("refused")
            assert path in str(exc)
            return
        event("runs (only weight bytes changed: the sha256 is what catches these)")
        out = interpreter.get_signature_runner("serving_default")(images=X1)
        assert out["logits"].shape == (1, 10) and out["probabilities"].shape == (1, 10)
    finally:
        shutil.rmtree(folder)


def test_tflite_loader_errors(files, tmp_path):
    assert export.load_tflite(files["tflite"], sha256=sha256_file(files["tflite"])) is not None
    with pytest.raises(FileNotFoundError, match="missing.tflite"):
        export.load_tflite(str(tmp_path / "missing.tflite"))
    with pytest.raises(ValueError, match="not a TFLite model"):
        export.load_tflite(files["keras"])
    with pytest.raises(ValueError, match="num_threads"):
        export.load_tflite(files["tflite"], num_threads=0)


@settings(FUZZ, max_examples=10)
@given(position=st.integers(0, 2**20))
def test_app_bundle_with_a_flipped_model_byte_is_refused(files, position):
    folder = tempfile.mkdtemp()
    try:
        model = os.path.join(folder, "model.tflite")
        shutil.copy(files["tflite"], model)
        pathlib.Path(folder, "labels.txt").write_text("".join(f"c{i}\n" for i in range(10)))
        bundle = {
            "format": "tfdefend-app-bundle",
            "model_file": "model.tflite",
            "labels_file": "labels.txt",
            "model_sha256": sha256_file(model),
            "num_classes": 10,
            "signature": "serving_default",
            "input": {"name": "images", "shape": [1, 8, 8, 1], "raw_pixels": True},
            "outputs": {"probabilities": {}},
            "preprocessing": {"resize": {"method": "bilinear", "antialias": True}},
        }
        pathlib.Path(folder, "bundle.json").write_text(json.dumps(bundle))
        assert export.read_bundle(folder)["num_classes"] == 10
        pathlib.Path(model).write_bytes(_flip(pathlib.Path(model).read_bytes(), [position]))
        with pytest.raises(ValueError, match="sha256"):
            export.read_bundle(folder)
    finally:
        shutil.rmtree(folder)


# --------------------------------------------------------------------------- the zoo


@pytest.fixture
def fake_zoo(files, monkeypatch, tmp_path):
    """A temporary copy of a zoo folder (never the real one): `write(entries)` writes its manifest."""
    shutil.copy(os.path.join(zoo.ZOO_DIR, "small_cnn_digits.keras"), tmp_path / "small_cnn_digits.keras")
    shutil.copy(files["lambda"], tmp_path / "lambda.keras")
    monkeypatch.setattr(zoo, "ZOO_DIR", str(tmp_path))
    monkeypatch.setattr(zoo, "MANIFEST_PATH", str(tmp_path / "manifest.json"))

    def write(**entries):
        base = {"dataset": "digits", "kind": "classifier"}
        models_ = {name: {**base, **entry} for name, entry in entries.items()}
        (tmp_path / "manifest.json").write_text(json.dumps({"models": models_}))
        return tmp_path

    return write


def test_load_pretrained_checks_the_sha256(fake_zoo):
    folder = fake_zoo(
        good={
            "file": "small_cnn_digits.keras",
            "sha256": sha256_file(os.path.join(zoo.ZOO_DIR, "small_cnn_digits.keras")),
        },
        tampered={"file": "small_cnn_digits.keras", "sha256": "0" * 64},
        short={"file": "small_cnn_digits.keras", "sha256": "abc"},
        escape={"file": "../small_cnn_digits.keras", "sha256": "0" * 64},
        missing={"file": "nope.keras", "sha256": "0" * 64},
    )
    assert models.load_pretrained("good").count_params() > 0
    with pytest.raises(ValueError, match="sha256 mismatch for 'tampered'"):
        models.load_pretrained("tampered")
    with pytest.raises(ValueError, match="invalid `sha256`"):
        models.load_pretrained("short")
    with pytest.raises(ValueError, match="invalid `file`"):
        models.load_pretrained("escape")
    with pytest.raises(FileNotFoundError, match="nope.keras"):
        models.load_pretrained("missing")
    data = (folder / "small_cnn_digits.keras").read_bytes()
    (folder / "small_cnn_digits.keras").write_bytes(data[:-100])  # truncated after the manifest was written
    with pytest.raises(ValueError, match="sha256 mismatch for 'good'"):
        models.load_pretrained("good")


def test_load_pretrained_is_safe_mode_by_default(fake_zoo, files):
    fake_zoo(unsafe={"file": "lambda.keras", "sha256": sha256_file(files["lambda"])})
    with pytest.raises(ValueError, match="safe_mode=False"):
        models.load_pretrained("unsafe")
    assert models.load_pretrained("unsafe", safe_mode=False)(X1).shape == (1, 10)


@pytest.mark.parametrize("text", ["", "{", "[]", '{"models": 3}', '{"models": {"a": 1}}', '{"other": {}}'])
def test_corrupted_manifest_is_a_clear_error(fake_zoo, text):
    folder = fake_zoo()
    (folder / "manifest.json").write_text(text)
    with pytest.raises(ValueError, match="manifest"):
        models.load_pretrained("good")
