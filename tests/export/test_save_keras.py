import keras
import numpy as np
import pytest

from tfdefend.export import save_keras
from tfdefend.models import create_model


def test_atomic_save_round_trip(tmp_path):
    model = create_model("small_cnn", input_shape=(8, 8, 1), filters=4, dense_units=8)
    path = tmp_path / "m.keras"
    save_keras(model, path)
    x = np.random.default_rng(0).uniform(size=(3, 8, 8, 1)).astype(np.float32)
    restored = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored(x), model(x), atol=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]
    with pytest.raises(FileExistsError):
        save_keras(model, path, overwrite=False)
    with pytest.raises(ValueError, match=".keras"):
        save_keras(model, tmp_path / "m.h5")
