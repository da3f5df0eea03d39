"""Shared fixtures: a small CNN trained on the real scikit-learn digits (8x8); `require_dataset`."""

import keras
import numpy as np
import pytest

# A data set CI must have is never a reason to skip: `scripts/install.sh` installs it or fails.
INSTALL_HINT = ("scripts/install.sh installs it (Debian package dataset-fashion-mnist), or put the idx files "
                "in a directory and set TFDEFEND_DATA_DIR to it (see the README's Data section).")


def require_dataset(name):
    """Fails the calling test, with how to install it, unless data set `name` can be read offline.

    A missing data set is an installation error, not a reason to skip: CI
    would otherwise pass while the real-data checks never ran. Fashion-MNIST
    is looked up exactly where `tfdefend.data` looks (never downloaded); the
    other data sets ship inside installed packages and are loaded once.

    Args:
        name: A name of `tfdefend.data.list_datasets()`.
    """
    from tfdefend.data import offline_sources

    if name == "fashion_mnist":
        if offline_sources.fashion_mnist_files() is not None:
            return
        try:
            offline_sources.fashion_mnist(download=False)  # raises with the exact ways to get it
        except FileNotFoundError as err:
            pytest.fail(f"Fashion-MNIST is required and missing: {INSTALL_HINT}\n{err}", pytrace=False)
        return
    from tfdefend.data import load

    try:
        load(name, "test", as_numpy=True, limit=1)
    except (ImportError, FileNotFoundError) as err:
        pytest.fail(f"data set {name!r} is required and cannot be loaded ({err}); "
                    "reinstall with `bash scripts/install.sh`.", pytrace=False)


def _load_digits():
    """(x_train, y_train, x_test, y_test), float32 [N, 8, 8, 1] in [0, 1]."""
    try:
        from tfdefend.data import load

        x_tr, y_tr = load("digits", split="train", as_numpy=True)
        x_te, y_te = load("digits", split="test", as_numpy=True)
    except Exception:  # noqa: BLE001 - data layer not ready: same data straight from sklearn
        from sklearn.datasets import load_digits

        bunch = load_digits()
        x = (bunch.images.astype(np.float32) / 16.0)[..., None]
        y = bunch.target.astype(np.int32)
        idx = np.random.default_rng(0).permutation(len(y))
        n_test = len(y) // 5
        x_te, y_te, x_tr, y_tr = x[idx[:n_test]], y[idx[:n_test]], x[idx[n_test:]], y[idx[n_test:]]
    return (np.asarray(x_tr, np.float32), np.asarray(y_tr, np.int32),
            np.asarray(x_te, np.float32), np.asarray(y_te, np.int32))


@pytest.fixture(scope="session")
def digits_model():
    """`(model, x_test, y_test, clean_accuracy)`: small_cnn trained ~20 epochs on digits.

    `x_test`/`y_test` are 200 test images the model classifies correctly, so
    attack success rates are measured on points where the attack has to work.
    """
    from tfdefend.models import create_model

    x_tr, y_tr, x_te, y_te = _load_digits()
    keras.utils.set_random_seed(0)
    model = create_model("small_cnn", input_shape=(8, 8, 1), num_classes=10, filters=16)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_tr, y_tr, epochs=20, batch_size=64, verbose=0)
    pred = np.argmax(model.predict(x_te, verbose=0), axis=1)
    accuracy = float(np.mean(pred == y_te))
    assert accuracy >= 0.9, f"digits classifier only reached {accuracy:.3f} test accuracy"
    correct = np.flatnonzero(pred == y_te)[:200]
    return model, x_te[correct], y_te[correct], accuracy


@pytest.fixture(scope="session")
def tiny_model():
    """An untrained small_cnn on random 8x8 inputs, for shape/validation tests."""
    from tests import harness

    keras.utils.set_random_seed(1)
    return harness.tiny_model("small_cnn", input_shape=(8, 8, 1), num_classes=10)


@pytest.fixture
def rand_images():
    """Eight random 8x8x1 images in [0, 1]."""
    return np.random.default_rng(0).uniform(0, 1, size=(8, 8, 8, 1)).astype(np.float32)


def _accuracy(model, x, y):
    return float(np.mean(np.argmax(np.asarray(model(x, training=False)), axis=1) == y))


@pytest.fixture(scope="session")
def accuracy():
    """`accuracy(model, x, y)`: fraction of `x` the model labels `y`."""
    return _accuracy
