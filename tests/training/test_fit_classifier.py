import numpy as np
import pytest

from tfdefend import data
from tfdefend.models import create_model
from tfdefend.training import fit_classifier


def test_fit_lowers_loss_on_real_digits():
    x, y = data.load("digits", "train", as_numpy=True)
    model = create_model("small_cnn", input_shape=(8, 8, 1), filters=8, dense_units=32)
    history = fit_classifier(model, (x, y), epochs=5, batch_size=64, learning_rate=3e-3, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0]


def test_rejects_bad_arguments():
    model = create_model("small_cnn", input_shape=(8, 8, 1), filters=4)
    x, y = np.zeros((4, 8, 8, 1), np.float32), np.zeros(4, np.int32)
    with pytest.raises(ValueError, match="epochs"):
        fit_classifier(model, (x, y), epochs=0)
    with pytest.raises(TypeError, match="model"):
        fit_classifier(lambda v: v, (x, y))


@pytest.mark.slow
def test_fashion_mnist_converges_in_one_epoch():
    """Real-data convergence: one epoch on the full Fashion-MNIST training set reaches >= 85%."""
    from tfdefend.data.offline_sources import _find_fashion_mnist
    from tfdefend.evaluation import accuracy

    if not _find_fashion_mnist(None):
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    x, y = data.load("fashion_mnist", "train", as_numpy=True)
    x_test, y_test = data.load("fashion_mnist", "test", as_numpy=True)
    model = create_model("small_cnn")
    fit_classifier(model, (x, y), epochs=1, batch_size=128, verbose=0)
    assert accuracy(model, x_test, y_test) >= 0.85
