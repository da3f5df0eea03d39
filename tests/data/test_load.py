import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import require_dataset
from tfdefend import data
from tfdefend.data import offline_sources, photo_patches


@pytest.mark.parametrize("name", ["digits", "lfw_subset", "mnist", "photo_patches"])
def test_bundled_sets_are_real_images_in_unit_range(name):
    spec = data.dataset_info(name)
    x, y = data.load(name, "train", as_numpy=True)
    assert x.dtype == np.float32 and y.dtype == np.int32
    assert x.shape[1:] == spec.image_shape
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.9
    assert set(np.unique(y)) == set(range(spec.num_classes))
    assert x.std() > 0.1  # real images, not a constant


def test_split_is_deterministic_disjoint_and_stratified():
    x_tr, y_tr = data.load("digits", "train", as_numpy=True, seed=3)
    x_te, y_te = data.load("digits", "test", as_numpy=True, seed=3)
    again, _ = data.load("digits", "test", as_numpy=True, seed=3)
    other, _ = data.load("digits", "test", as_numpy=True, seed=4)
    np.testing.assert_array_equal(x_te, again)
    assert not np.array_equal(x_te, other)
    assert len(x_tr) + len(x_te) == 1797
    flat_train = {row.tobytes() for row in x_tr}
    assert sum(row.tobytes() in flat_train for row in x_te) < 5  # digits has a few duplicates
    assert np.all(np.bincount(y_te) >= 30)  # every class held out in proportion


def test_dataset_and_limit():
    ds = data.load("lfw_subset", "test", batch_size=8, limit=20)
    assert isinstance(ds, tf.data.Dataset)
    batches = list(ds.as_numpy_iterator())
    assert sum(len(b[0]) for b in batches) == 20
    assert batches[0][0].shape[1:] == (25, 25, 1)
    # the limited split still holds both classes (shuffled, not face-first)
    assert len(np.unique(np.concatenate([b[1] for b in batches]))) == 2


def test_unknown_name_lists_known():
    with pytest.raises(ValueError, match="known datasets: .*digits.*fashion_mnist"):
        data.load("cifar10")


def test_bad_split_and_limit():
    with pytest.raises(ValueError, match="split"):
        data.load("digits", "validation")
    with pytest.raises(ValueError, match="limit"):
        data.load("digits", limit=0)


def test_fashion_mnist_missing_gives_instructions(tmp_path, monkeypatch):
    monkeypatch.setattr(offline_sources, "DEBIAN_FASHION_MNIST_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TFDEFEND_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="apt-get install -y dataset-fashion-mnist"):
        offline_sources.fashion_mnist(download=False)


def test_a_missing_data_set_fails_the_test_with_the_install_hint(tmp_path, monkeypatch):
    """The guard the real-data tests use fails (never skips) and says how to get the data."""
    monkeypatch.setattr(offline_sources, "DEBIAN_FASHION_MNIST_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TFDEFEND_DATA_DIR", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="(?s)TFDEFEND_DATA_DIR.*dataset-fashion-mnist") as info:
        require_dataset("fashion_mnist")
    assert not isinstance(info.value, pytest.skip.Exception)
    for name in ("train", "t10k"):
        for kind in ("images-idx3", "labels-idx1"):
            (tmp_path / f"{name}-{kind}-ubyte.gz").write_bytes(b"")  # found: the guard only checks presence
    require_dataset("fashion_mnist")
    require_dataset("digits")


def test_fashion_mnist_from_data_dir(tmp_path, monkeypatch):
    """Idx files in $TFDEFEND_DATA_DIR are found and parsed (a tiny hand-made set)."""
    import gzip

    def write_idx(path, array):
        header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
        with gzip.open(path, "wb") as handle:
            handle.write(header + array.astype(np.uint8).tobytes())

    images = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    for split, (img_name, lbl_name) in offline_sources.FASHION_MNIST_FILES.items():
        write_idx(tmp_path / img_name, images)
        write_idx(tmp_path / lbl_name, np.array([1, 2, 3]))
    monkeypatch.setenv("TFDEFEND_DATA_DIR", str(tmp_path))
    splits = offline_sources.fashion_mnist(download=False)
    assert splits["train"][0].shape == (3, 28, 28, 1)
    np.testing.assert_array_equal(splits["test"][1], [1, 2, 3])
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x05\x01"))
    with pytest.raises(ValueError, match="truncated"):
        offline_sources.fashion_mnist(download=False)


def test_fashion_mnist_full():
    require_dataset("fashion_mnist")
    x, y = data.load("fashion_mnist", "test", as_numpy=True)
    assert x.shape == (10000, 28, 28, 1) and np.bincount(y).tolist() == [1000] * 10


def test_all_split_is_train_then_test_and_streams_like_the_arrays():
    x_tr, y_tr = data.load("digits", "train", as_numpy=True)
    x_te, y_te = data.load("digits", "test", as_numpy=True)
    x_all, y_all = data.load("digits", "all", as_numpy=True)
    np.testing.assert_array_equal(x_all, np.concatenate([x_tr, x_te]))
    np.testing.assert_array_equal(y_all, np.concatenate([y_tr, y_te]))
    limit = len(x_tr) + 7  # crosses the train/test boundary
    batches = list(data.load("digits", "all", batch_size=300, limit=limit).as_numpy_iterator())
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x_all[:limit])
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y_all[:limit])
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int32


def _write_idx(path, array):
    import gzip

    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def test_idx_files_stream_record_by_record(tmp_path):
    from tfdefend.data import streaming

    images = (np.arange(5 * 4 * 3).reshape(5, 4, 3) * 7) % 256
    _write_idx(tmp_path / "img.gz", images)
    _write_idx(tmp_path / "lbl.gz", np.array([3, 1, 4, 1, 5]))
    ds = streaming.idx_dataset(str(tmp_path / "img.gz"), str(tmp_path / "lbl.gz"))
    assert int(ds.cardinality()) == 5  # from the header, without reading the records
    got = list(streaming.finish([ds, ds], 255.0, batch_size=4, limit=7).as_numpy_iterator())
    x = np.concatenate([b[0] for b in got])
    assert x.shape == (7, 4, 3, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:5, ..., 0], images.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(np.concatenate([b[1] for b in got]), [3, 1, 4, 1, 5, 3, 1])
    _write_idx(tmp_path / "short.gz", np.array([3, 1]))
    with pytest.raises(ValueError, match="matching"):
        streaming.idx_dataset(str(tmp_path / "img.gz"), str(tmp_path / "short.gz"))


def test_fashion_mnist_all_streams_70k_from_the_idx_files():
    require_dataset("fashion_mnist")
    ds = data.load("fashion_mnist", "all")
    assert int(ds.cardinality()) == 70000
    x_te, y_te = data.load("fashion_mnist", "test", as_numpy=True, limit=5)
    test_head = list(data.load("fashion_mnist", "test", limit=5).as_numpy_iterator())
    np.testing.assert_array_equal(np.stack([t[0] for t in test_head]), x_te)
    np.testing.assert_array_equal([t[1] for t in test_head], y_te)
    x_tr, _ = data.load("fashion_mnist", "train", as_numpy=True, limit=300)
    head = next(iter(data.load("fashion_mnist", "all", batch_size=300).as_numpy_iterator()))
    np.testing.assert_array_equal(head[0], x_tr)


def test_image_folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("daisy", "rose"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    ds = data.load_image_folder(str(tmp_path), image_size=(16, 16), batch_size=4)
    assert ds.class_names == ["daisy", "rose"]
    x, y = next(iter(ds))
    assert x.shape[1:] == (16, 16, 3) and float(tf.reduce_max(x)) <= 1.0
    with pytest.raises(FileNotFoundError, match="directory"):
        data.load_image_folder(str(tmp_path / "missing"))


def test_photo_patches_are_balanced_deterministic_and_test_pixels_unseen():
    raw = photo_patches.photo_patches()
    again = photo_patches.photo_patches()
    for split, per_class in photo_patches.PER_CLASS.items():
        x, y = raw[split]
        assert x.shape == (per_class * len(photo_patches.PHOTOS), 32, 32, 3) and x.dtype == np.uint8
        assert np.all(np.bincount(y) == per_class)
        np.testing.assert_array_equal(x, again[split][0])
    textured = [row for patch in raw["test"][0][:200] for row in patch if np.ptp(row) > 8]  # not a flat sky
    train_rows = {row.tobytes() for patch in raw["train"][0] for row in patch}  # every 32-pixel row
    assert len(textured) > 3000
    assert sum(row.tobytes() in train_rows for row in textured) == 0  # disjoint regions: no shared row


def test_colour_samples_are_foolbox_cifar10_images():
    x, y, names = photo_patches.colour_samples(16)
    assert x.shape == (20, 16, 16, 3) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert set(y) <= set(range(10)) and len(names) == 10 and x.std() > 0.1
    with pytest.raises(ValueError, match="image_size"):
        photo_patches.colour_samples(0)
