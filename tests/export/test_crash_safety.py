"""A failure in the middle of writing a `.keras`, SavedModel or `.tflite` never touches the final path."""

import importlib
import os

import keras
import pytest

from tfdefend.export import _serving, export_keras, export_saved_model, export_tflite
from tfdefend.models import create_model
from tfdefend.utils import atomic

tflite_module = importlib.import_module("tfdefend.export.tflite")


class _Crash(Exception):
    """Stands in for a crash in the middle of a write."""


@pytest.fixture(scope="module")
def model():
    return create_model("small_cnn", input_shape=(8, 8, 1), num_classes=3, filters=4, dense_units=8)


def _names(folder):
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("previous", [None, b"the previous model"])
def test_keras_file(tmp_path, monkeypatch, model, previous):
    path = tmp_path / "m.keras"
    if previous is not None:
        path.write_bytes(previous)

    def torn_save(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as handle:
            handle.write(b"PK\x03\x04 half a zip")
        raise _Crash

    monkeypatch.setattr(keras.Model, "save", torn_save)
    with pytest.raises(_Crash):
        export_keras(model, path)
    assert _names(tmp_path) == ([] if previous is None else ["m.keras"])  # no torn temporary file
    if previous is not None:
        assert path.read_bytes() == previous


class _Archive:
    """A stand-in `ExportArchive`: writes a SavedModel's files, optionally crashing half-way."""

    def __init__(self, crash):
        self.crash = crash

    def write_out(self, path, verbose=False):
        os.makedirs(os.path.join(path, "variables"))
        with open(os.path.join(path, "saved_model.pb"), "wb") as handle:
            handle.write(b"new graph")
        if self.crash:
            raise _Crash
        with open(os.path.join(path, "variables", "variables.index"), "wb") as handle:
            handle.write(b"new index")


def test_saved_model_directory(tmp_path, monkeypatch, model):
    path = tmp_path / "sm"
    path.mkdir()
    (path / "saved_model.pb").write_bytes(b"old graph")
    monkeypatch.setattr(_serving, "build_archive", lambda *args, **kwargs: _Archive(crash=True))
    with pytest.raises(_Crash):
        export_saved_model(model, path, overwrite=True)
    assert _names(tmp_path) == ["sm"] and _names(path) == ["saved_model.pb"]
    assert (path / "saved_model.pb").read_bytes() == b"old graph"
    with pytest.raises(_Crash):
        export_saved_model(model, tmp_path / "fresh")
    assert _names(tmp_path) == ["sm"]
    # A complete write replaces the old directory in one swap and leaves nothing else behind.
    monkeypatch.setattr(_serving, "build_archive", lambda *args, **kwargs: _Archive(crash=False))
    export_saved_model(model, path, overwrite=True)
    assert _names(tmp_path) == ["sm"] and _names(path) == ["saved_model.pb", "variables"]
    assert (path / "saved_model.pb").read_bytes() == b"new graph"


def test_tflite_file(tmp_path, monkeypatch, model):
    path = tmp_path / "m.tflite"
    path.write_bytes(b"the previous flatbuffer")
    monkeypatch.setattr(tflite_module, "_convert", lambda *args: b"TFL3" + bytes(4096))

    def crash_before_durable(fd):  # the bytes are in the temporary file, the rename has not happened
        raise _Crash

    monkeypatch.setattr(atomic.os, "fsync", crash_before_durable)
    with pytest.raises(_Crash):
        export_tflite(model, path, overwrite=True)
    assert _names(tmp_path) == ["m.tflite"] and path.read_bytes() == b"the previous flatbuffer"
