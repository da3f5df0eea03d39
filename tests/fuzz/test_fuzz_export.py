"""Fuzzing the exporters and the app client: the documented result or a clear error, nothing else.

Conversions are expensive, so the TFLite/SavedModel fuzzing stops where the
arguments are all checked: the TFLite destination already exists (valid
arguments end in `FileExistsError`), and the SavedModel tracing is replaced
by a sentinel.
"""

import json
import os
import pathlib
import tempfile
from unittest import mock

import keras
import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.fuzz.strategies import ANY_VALUE, FUZZ, assert_clear_error, image_batches, images_ok
from tfdefend import export, models
from tfdefend.export import _serving
from tfdefend.export.app_client import prepare_image
from tfdefend.utils import sha256_file


class Reached(Exception):
    """Raised where the expensive part of an export would start."""


SHAPES = st.one_of(
    st.just(None),
    st.just((8, 8, 1)),
    st.sampled_from([(8, 8, 3), (8, 8), [8, 8, 1], (8, 8, 1.0), (0, 8, 1), "8x8", (True, 8, 1)]),
)
QUANTIZATIONS = st.one_of(st.sampled_from([None, "fp16", "dynamic", "int8", "int4", "INT8", ""]), ANY_VALUE)
KINDS = st.one_of(st.sampled_from([None, "classifier", "preprocessor", "encoder"]), ANY_VALUE)


def _one_of(value, *choices):
    return isinstance(value, (str, type(None))) and value in choices


def _shape_ok(shape):
    return shape is None or (
        isinstance(shape, (tuple, list))
        and tuple(shape) == (8, 8, 1)
        and all(isinstance(d, int) and not isinstance(d, bool) for d in shape)
    )


@settings(FUZZ, max_examples=40)
@given(
    quantization=st.one_of(st.sampled_from([None, "int8"]), QUANTIZATIONS),
    data=st.one_of(st.none(), image_batches(batch_sizes=(1, 3))),
    shape=st.one_of(st.none(), SHAPES),
    kind=st.one_of(st.none(), KINDS),
    path_kind=st.sampled_from(["existing"] * 3 + ["h5", "int", "none"]),
)
def test_tflite_arguments_on_fuzzed_values(
    fuzz_model, tmp_path_factory, quantization, data, shape, kind, path_kind
):
    existing = tmp_path_factory.getbasetemp() / "exists.tflite"
    existing.write_bytes(b"")
    path = {"existing": str(existing), "h5": "model.h5", "int": 3, "none": None}[path_kind]
    q_ok = _one_of(quantization, None, "fp16", "dynamic", "int8")
    data_ok = (data is not None and images_ok(data)) if _one_of(quantization, "int8") else data is None
    ok = (
        q_ok
        and data_ok
        and _shape_ok(shape)
        and _one_of(kind, None, "classifier")
        and path_kind == "existing"
    )
    try:
        export.export_tflite(
            fuzz_model,
            path,
            quantization=quantization,
            representative_data=data,
            input_shape=shape,
            kind=kind,
        )
    except FileExistsError:
        event("all checked")
        assert ok, "invalid arguments reached the conversion"
        return
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions
        event("clear error")
        assert not ok, f"valid arguments refused: {exc!r}"
        assert_clear_error(
            exc,
            "quantization",
            "representative_data",
            "input_shape",
            "kind",
            "path",
            "preprocessor",
            "encoder",
        )
        return
    raise AssertionError("export_tflite() wrote over an existing file")


@settings(FUZZ, max_examples=25)
@given(
    model=st.sampled_from(["fuzz", "fuzz", "dense", "text", None]),
    shape=SHAPES,
    kind=KINDS,
    path=st.sampled_from(["out", "out", 7, None]),
)
def test_saved_model_arguments_on_fuzzed_values(fuzz_model, tmp_path_factory, model, shape, kind, path):
    model = {"fuzz": fuzz_model, "dense": keras.layers.Dense(2), "text": "model", None: None}[model]
    target = str(tmp_path_factory.mktemp("sm") / "model") if path == "out" else path
    ok = model is fuzz_model and _shape_ok(shape) and _one_of(kind, None, "classifier") and path == "out"
    with mock.patch.object(_serving, "build_archive", side_effect=Reached):
        try:
            export.export_saved_model(model, target, input_shape=shape, kind=kind)
        except Reached:
            event("all checked")
            assert ok, "invalid arguments reached the tracing"
            return
        except Exception as exc:  # noqa: BLE001
            event("clear error")
            assert not ok, f"valid arguments refused: {exc!r}"
            assert_clear_error(exc, "model", "input_shape", "kind", "path", "preprocessor", "encoder")
            return
    raise AssertionError("export_saved_model() returned without tracing")


@settings(FUZZ, max_examples=15)
@given(
    model=st.sampled_from(["fuzz", "fuzz", "layer", None]),
    suffix=st.sampled_from([".keras", ".h5", "", 5]),
    include_optimizer=st.booleans(),
    exists=st.booleans(),
    overwrite=st.booleans(),
)
def test_save_keras_on_fuzzed_arguments(fuzz_model, model, suffix, include_optimizer, exists, overwrite):
    model = {"fuzz": fuzz_model, "layer": keras.layers.Dense(2), None: None}[model]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m" + suffix) if isinstance(suffix, str) else suffix
        if exists and isinstance(path, str):
            pathlib.Path(path).write_bytes(b"old")
        ok = model is fuzz_model and suffix == ".keras"
        try:
            export.export_keras(model, path, overwrite=overwrite, include_optimizer=include_optimizer)
        except FileExistsError:
            event("refused to overwrite")
            assert ok and exists and not overwrite
            return
        except Exception as exc:  # noqa: BLE001
            event("clear error")
            assert not ok, f"valid arguments refused: {exc!r}"
            assert_clear_error(exc, "model", "path")
            return
        event("saved")
        assert ok and (overwrite or not exists), "invalid arguments accepted"
        loaded = models.load_model(path)
        np.testing.assert_array_equal(loaded.get_weights()[0], fuzz_model.get_weights()[0])


BUNDLE_SPEC = {
    "input": {"shape": [1, 8, 8, 1]},
    "preprocessing": {"resize": {"method": "bilinear", "antialias": True}},
}
PIXEL_ARRAYS = st.one_of(
    hnp.arrays(np.uint8, hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=12)),
    hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        st.sampled_from([(5, 5), (9, 7, 3), (4, 4, 4), (8, 8, 1)]),
        elements=st.one_of(st.floats(-0.5, 1.5, width=32), st.sampled_from([np.nan, np.inf])),
    ),
    hnp.arrays(st.sampled_from([np.int64, np.bool_, np.dtype("U1")]), st.sampled_from([(4, 4), (4, 4, 3)])),
    hnp.arrays(np.uint8, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3)),
)


def _pixels_ok(image):
    if not isinstance(image, np.ndarray):
        return False
    x = image[..., None] if image.ndim == 2 else image
    if x.ndim != 3 or x.shape[-1] not in (1, 3, 4) or min(x.shape[:2]) < 1:
        return False
    if x.dtype == np.uint8:
        return True
    return x.dtype.kind == "f" and bool(np.all(np.isfinite(x)) and x.min() >= 0 and x.max() <= 1)


@settings(FUZZ, max_examples=40)
@given(
    image=st.one_of(PIXEL_ARRAYS, st.binary(max_size=64), st.sampled_from(["/no/such/image.png", None, 3]))
)
def test_prepare_image_on_fuzzed_images(image):
    try:
        pixels = prepare_image(image, BUNDLE_SPEC)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        event("clear error")
        if isinstance(exc, FileNotFoundError):
            assert isinstance(image, str)
            return
        assert not _pixels_ok(image), f"valid pixels refused: {exc!r}"
        assert_clear_error(exc, "image", "decode")
        return
    event("pixels")
    assert isinstance(image, bytes) or _pixels_ok(image), "invalid pixels accepted"
    assert pixels.dtype == np.uint8 and pixels.shape == (8, 8, 1)


VALID_BUNDLE = {
    "format": "tfdefend-app-bundle",
    "format_version": 1,
    "name": "fuzz",
    "model_file": "model.tflite",
    "labels_file": "labels.txt",
    "num_classes": 2,
    "signature": "serving_default",
    "input": {
        "name": "images",
        "shape": [1, 8, 8, 1],
        "dtype": "uint8",
        "raw_pixels": True,
        "quantization": {"scale": 1 / 255, "zero_point": 0},
    },
    "outputs": {"probabilities": {"dtype": "uint8", "quantization": {"scale": 1 / 256, "zero_point": 0}}},
    "preprocessing": {"resize": {"method": "bilinear", "antialias": True}},
}
_PATHS = [
    ("model_file",),
    ("labels_file",),
    ("num_classes",),
    ("model_sha256",),
    ("input", "shape"),
    ("input", "name"),
    ("input", "raw_pixels"),
    ("preprocessing", "resize"),
    ("outputs",),
    ("format",),
]
_JSON = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False),
    st.text(max_size=3),
    st.lists(st.integers(0, 9), max_size=4),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
_JUNK = st.one_of(
    _JSON,
    st.sampled_from(
        [
            "../model.tflite",
            "/etc/passwd",
            "",
            "missing.tflite",
            [1, 8, 8],
            [1, 8, 8, 0],
            "0" * 64,
            "labels.txt",
        ]
    ),
)


@settings(FUZZ, max_examples=30)
@given(
    edits=st.lists(st.tuples(st.sampled_from(_PATHS), st.one_of(st.just("<delete>"), _JUNK)), max_size=2),
    raw=st.sampled_from([None, None, None, None, b"", b"{", b"[]", b"\xff\xfe", b'{"format": 1}']),
)
def test_read_bundle_on_fuzzed_descriptions(edits, raw):
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model.tflite")
        pathlib.Path(model).write_bytes(b"\x00\x00\x00\x00TFL3" + bytes(range(64)))
        pathlib.Path(tmp, "labels.txt").write_text("a\nb\n")
        bundle = json.loads(json.dumps(VALID_BUNDLE))
        bundle["model_sha256"] = sha256_file(model)
        for path, value in edits:
            parent = bundle
            for key in path[:-1]:
                parent = parent[key]
            if isinstance(value, str) and value == "<delete>":
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
        pathlib.Path(tmp, "bundle.json").write_bytes(raw if raw is not None else json.dumps(bundle).encode())
        try:
            read = export.read_bundle(tmp)
        except (ValueError, TypeError, FileNotFoundError) as exc:
            event("clear error")
            assert raw is not None or edits, f"a valid bundle refused: {exc!r}"
            assert "bundle" in str(exc).lower() or tmp in str(exc) or "labels" in str(exc), str(exc)
            return
        event("read")
        assert read["labels"] == ["a", "b"] and read["model_path"] == model
        assert read["input"]["shape"] == [1, 8, 8, 1] and read["num_classes"] == 2
