"""Image folders: the checks, the app's preprocessing, and loading into arrays."""

import os
import pathlib

import numpy as np
import pytest

from tfdefend.data import image_folder, load_image_folder

PHOTOS = ("chelsea", "coffee", "rocket")


def make_photo_folder(root, *, per_class=10, size=24, seed=0):
    """A real image folder: `per_class` jittered crops of skimage's chelsea, coffee and rocket photos.

    Each photo is shrunk to 2*size pixels and cropped at random offsets with a
    small brightness jitter; crops alternate PNG and JPEG. Returns `root`.
    """
    import skimage.data
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name in PHOTOS:
        photo = np.asarray(Image.fromarray(getattr(skimage.data, name)()).resize((2 * size, 2 * size),
                                                                                 Image.BILINEAR), np.int16)
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(per_class):
            y, x = rng.integers(0, size + 1, 2)
            crop = np.clip(photo[y:y + size, x:x + size] + rng.integers(-12, 13), 0, 255).astype(np.uint8)
            Image.fromarray(crop).save(os.path.join(root, name, f"{i:02d}.{'jpg' if i % 2 else 'png'}"))
    return root


@pytest.fixture
def folder(tmp_path):
    return make_photo_folder(str(tmp_path / "photos"), per_class=4)


def test_scan_lists_sorted_classes_and_skips_hidden_and_root_files(folder):
    pathlib.Path(os.path.join(folder, "LICENSE.txt")).write_text("not a class")
    pathlib.Path(os.path.join(folder, "rocket", ".DS_Store")).write_bytes(b"\0\1")
    os.makedirs(os.path.join(folder, "coffee", "more"))
    with open(os.path.join(folder, "coffee", "00.png"), "rb") as src:
        pathlib.Path(os.path.join(folder, "coffee", "more", "x.png")).write_bytes(src.read())
    names, paths, labels = image_folder.scan_image_folder(folder)
    assert names == list(PHOTOS)
    assert labels.tolist() == [0] * 4 + [1] * 5 + [2] * 4
    assert all(os.path.basename(os.path.dirname(p)) in (*PHOTOS, "more") for p in paths)


def test_read_image_is_the_app_preprocessing(folder):
    from tfdefend.export.app_bundle import RESIZE
    from tfdefend.export.app_client import prepare_image

    spec = {"input": {"shape": [1, 16, 12, 3]}, "preprocessing": {"resize": RESIZE}}
    for name in ("00.png", "01.jpg"):
        path = os.path.join(folder, "chelsea", name)
        x = image_folder.read_image(path, (16, 12))
        assert x.shape == (16, 12, 3) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
        np.testing.assert_array_equal(np.round(x * 255).astype(np.uint8), prepare_image(path, spec))
    same = image_folder.read_image(os.path.join(folder, "chelsea", "00.png"), (24, 24))
    from PIL import Image

    np.testing.assert_array_equal(np.round(same * 255), np.asarray(Image.open(os.path.join(folder, "chelsea",
                                                                                            "00.png"))))


def test_load_arrays_with_limit(folder):
    x, y, names = image_folder.load_image_folder_arrays(folder, image_size=(8, 8))
    assert x.shape == (12, 8, 8, 3) and y.tolist() == [0] * 4 + [1] * 4 + [2] * 4 and names == list(PHOTOS)
    x5, y5, _ = image_folder.load_image_folder_arrays(folder, image_size=(8, 8), limit=5)
    assert x5.shape == (5, 8, 8, 3) and np.all(np.diff(y5) >= 0)
    with pytest.raises(ValueError, match="image_size"):
        image_folder.load_image_folder_arrays(folder, image_size=(8, 0))


def test_errors_name_the_problem(tmp_path, folder):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        image_folder.scan_image_folder(str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="is empty"):
        image_folder.scan_image_folder(str(empty))
    (empty / "daisy").mkdir()
    with pytest.raises(ValueError, match="at least 2 class sub-folders.*'daisy'"):
        image_folder.scan_image_folder(str(empty))
    (empty / "rose").mkdir()
    with pytest.raises(ValueError, match="daisy.* holds no images"):
        image_folder.scan_image_folder(str(empty))
    notes = os.path.join(folder, "rocket", "notes.txt")
    pathlib.Path(notes).write_text("hello")
    with pytest.raises(ValueError, match="notes.txt' is not an image file"):
        image_folder.scan_image_folder(folder)
    with pytest.raises(ValueError, match="notes.txt"):
        load_image_folder(folder, image_size=(8, 8))
    os.remove(notes)
    fake = os.path.join(folder, "rocket", "fake.png")
    pathlib.Path(fake).write_text("not a png")
    with pytest.raises(ValueError, match="fake.png' is not a PNG, JPEG"):
        image_folder.scan_image_folder(folder)
    with pytest.raises(ValueError, match="Cannot decode .*fake.png"):
        image_folder.read_image(fake, (8, 8))
