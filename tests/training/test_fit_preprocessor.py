import numpy as np
import pytest

from tfdefend import data
from tfdefend.models import JPEGCompression, create_model
from tfdefend.training import reconstruction_error, train_preprocessor


def test_comdefend_fit_lowers_reconstruction_error():
    x, _ = data.load("digits", "train", as_numpy=True, limit=256)
    model = create_model("comdefend", input_shape=(8, 8, 1), code_channels=4,
                         comcnn_filters=(8, 16, 8), rescnn_filters=(8, 16, 8), seed=0)
    before = reconstruction_error(model, x)["mse"]
    history = train_preprocessor(model, x, epochs=6, batch_size=32, learning_rate=3e-3, verbose=0)
    after = reconstruction_error(model, x)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert after["mse"] < 0.7 * before
    assert after["psnr_db"] == pytest.approx(10 * np.log10(1 / after["mse"]), abs=3.0)


def test_nothing_to_fit():
    with pytest.raises(ValueError, match="no trainable weights"):
        train_preprocessor(JPEGCompression(quality=50), np.zeros((4, 8, 8, 1), np.float32))
    with pytest.raises(TypeError, match="model"):
        train_preprocessor(lambda v: v, np.zeros((4, 8, 8, 1), np.float32))
