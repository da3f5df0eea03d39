"""Fuzzing the data loaders: real images in [0, 1] or a clear error, nothing else."""

import contextlib
import io
import os
import pathlib
import tempfile

import numpy as np
import tensorflow as tf
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.fuzz.strategies import ANY_VALUE, FUZZ, assert_clear_error, counts, is_count
from tfdefend import data

VALID = {  # argument -> valid values of `load`
    "name": st.sampled_from(["digits", "lfw_subset"]),
    "split": st.sampled_from(["train", "test", "all"]),
    "as_numpy": st.booleans(),
    "batch_size": st.one_of(st.none(), st.integers(1, 64)),
    "limit": st.one_of(st.none(), st.integers(1, 50)),
    "seed": st.integers(0, 2**32 - 1),
    "test_fraction": st.one_of(st.floats(0.05, 0.95), st.just(np.float32(0.3))),
}
BAD = {  # argument -> values, mostly bad
    "name": st.one_of(st.sampled_from(["Digits", "cifar10", ""]), ANY_VALUE),
    "split": st.one_of(st.sampled_from(["validation", "TRAIN"]), ANY_VALUE),
    "batch_size": counts(1, 64),
    "limit": counts(1, 50),
    "seed": st.sampled_from([None, -1, 2**32, 1.5, "0", True, np.int64(3)]),
    "test_fraction": st.sampled_from([0, 1, 1.5, -0.1, np.nan, "0.2", None, True]),
}


def _one_of(value, *choices):
    return isinstance(value, str) and value in choices


def _load_ok(a):
    fraction = a["test_fraction"]
    return (
        _one_of(a["name"], "digits", "lfw_subset")
        and _one_of(a["split"], "train", "test", "all")
        and (a["batch_size"] is None or is_count(a["batch_size"]))
        and (a["limit"] is None or is_count(a["limit"]))
        and (a["seed"] is None or is_count(a["seed"], lo=0, hi=2**32 - 1))
        and not isinstance(fraction, (bool, str, type(None)))
        and 0 < float(fraction) < 1
    )


@st.composite
def _load_arguments(draw):
    """Valid `load` arguments with, half of the time, one of them replaced by a (mostly) bad value."""
    arguments = {key: draw(strategy) for key, strategy in VALID.items()}
    bad = draw(st.sampled_from([None, *sorted(BAD)]))
    if bad is not None:
        arguments[bad] = draw(BAD[bad])
    return arguments


@settings(FUZZ, max_examples=30)
@given(arguments=_load_arguments())
def test_load_on_fuzzed_arguments(arguments):
    ok = _load_ok(arguments)
    name, split, as_numpy, batch_size, limit = (
        arguments[k] for k in ("name", "split", "as_numpy", "batch_size", "limit")
    )
    try:
        loaded = data.load(
            name,
            split,
            as_numpy=as_numpy,
            batch_size=batch_size,
            limit=limit,
            seed=arguments["seed"],
            test_fraction=arguments["test_fraction"],
        )
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions
        event("clear error")
        assert not ok, f"valid arguments refused: {exc!r}"
        assert_clear_error(exc, "name", "dataset", "split", "batch_size", "limit", "seed", "test_fraction")
        return
    event("loaded")
    assert ok, "invalid arguments accepted"
    if as_numpy:
        x, y = loaded
    else:
        x, y = next(iter(loaded.take(1)))
        x, y = np.asarray(x), np.asarray(y)
        if batch_size is None:
            x, y = x[None], y[None]
    spec = data.dataset_info(name)
    assert x.dtype == np.float32 and x.shape[1:] == spec.image_shape and 0.0 <= x.min() <= x.max() <= 1.0
    assert y.dtype == np.int32 and len(y) == len(x) and 0 <= y.min() and y.max() < spec.num_classes
    if limit is not None and as_numpy:
        assert len(x) <= limit


def _png(size=(5, 4), channels=3):
    return tf.io.encode_png(np.full((*size, channels), 128, np.uint8)).numpy()


FILES = {  # kind -> (file name, content or None for a folder, decodable image?)
    "png": ("a.png", _png(), True),
    "gray png": ("b.PNG", _png(channels=1), True),
    "jpeg": ("c.jpg", tf.io.encode_jpeg(np.zeros((6, 6, 3), np.uint8)).numpy(), True),
    "truncated png": ("d.png", _png()[:20], False),
    "png magic, junk": ("e.png", b"\x89PNG\r\n\x1a\n" + b"junk" * 4, False),
    "random bytes": ("f.png", bytes(range(40)), False),
    "text": ("g.txt", b"not an image", False),
    "empty jpeg": ("h.jpg", b"", False),
    "hidden": (".DS_Store", b"\0\1", True),
}


GOOD_FILES = sorted(k for k, (_, _, good) in FILES.items() if good)
# A layout: one list of file kinds per class folder; valid when >= 2 classes each hold an image and all
# decode.
LAYOUTS = st.one_of(
    st.lists(st.lists(st.sampled_from(GOOD_FILES), min_size=1, max_size=3), min_size=2, max_size=3),
    st.lists(st.lists(st.sampled_from(sorted(FILES)), max_size=3), max_size=3),
)


def _write(root, layout):
    for i, kinds in enumerate(layout):
        folder = os.path.join(root, f"class{i}")
        os.makedirs(folder)
        for j, kind in enumerate(kinds):
            name, content, _ = FILES[kind]
            pathlib.Path(folder, f"{j}{name}" if not name.startswith(".") else name).write_bytes(content)


def _layout_ok(layout):
    images = [[k for k in kinds if k != "hidden"] for kinds in layout]
    return len(layout) >= 2 and all(images) and all(FILES[k][2] for kinds in images for k in kinds)


@settings(FUZZ, max_examples=25)
@given(
    layout=LAYOUTS,
    loader=st.sampled_from(["dataset", "arrays"]),
    image_size=st.sampled_from([(4, 4)] * 6 + [(3, 5), (0, 4), (4,), "4x4", (4.0, 4), None]),
    batch_size=st.sampled_from([2] * 6 + [None, 0, -1, 2.5]),
)
def test_image_folders_on_fuzzed_layouts(layout, loader, image_size, batch_size):
    size_ok = (
        isinstance(image_size, tuple)
        and len(image_size) == 2
        and all(isinstance(d, int) and d >= 1 for d in image_size)
    )
    batch_ok = batch_size is None or is_count(batch_size)
    ok = _layout_ok(layout) and size_ok and (batch_ok or loader == "arrays")
    with tempfile.TemporaryDirectory() as root:
        _write(root, layout)
        try:
            if loader == "dataset":
                with contextlib.redirect_stdout(io.StringIO()):  # Keras prints "Found N files ..."
                    dataset = data.load_image_folder(root, image_size=image_size, batch_size=batch_size)
                batches = list(dataset.as_numpy_iterator())  # a damaged file must not surface here
                x = (
                    np.concatenate([b[0] for b in batches])
                    if batch_size
                    else np.stack([b[0] for b in batches])
                )
            else:
                x, _, _ = data.image_folder.load_image_folder_arrays(root, image_size=image_size)
        except (ValueError, TypeError, FileNotFoundError) as exc:
            event("clear error")
            assert not ok, f"a valid folder refused: {exc!r}"
            assert_clear_error(exc, "image_size", "batch_size", root, "folder")
            return
    event("loaded")
    assert ok, "an invalid folder accepted"
    assert x.shape[1:] == (*image_size, 3) and 0.0 <= x.min() <= x.max() <= 1.0
    assert len(x) == sum(len([k for k in kinds if k != "hidden"]) for kinds in layout)
