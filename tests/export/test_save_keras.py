import keras
import numpy as np
import pytest

from tfdefend.export import export_keras
from tfdefend.models import create_model


def test_atomic_save_round_trip(tmp_path):
    model = create_model("small_cnn", input_shape=(8, 8, 1), filters=4, dense_units=8)
    path = tmp_path / "m.keras"
    export_keras(model, path)
    x = np.random.default_rng(0).uniform(size=(3, 8, 8, 1)).astype(np.float32)
    restored = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(restored(x), model(x), atol=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]
    with pytest.raises(FileExistsError):
        export_keras(model, path, overwrite=False)
    with pytest.raises(ValueError, match=".keras"):
        export_keras(model, tmp_path / "m.h5")


def test_without_optimizer_is_smaller_and_equal(tmp_path):
    model = create_model("small_cnn", input_shape=(8, 8, 1), filters=16, dense_units=64)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(1).uniform(size=(8, 8, 8, 1)).astype(np.float32)
    model.fit(x, np.arange(8) % 10, epochs=1, verbose=0)
    export_keras(model, tmp_path / "full.keras")
    export_keras(model, tmp_path / "slim.keras", include_optimizer=False)
    assert (tmp_path / "slim.keras").stat().st_size < 0.5 * (tmp_path / "full.keras").stat().st_size
    slim = keras.models.load_model(tmp_path / "slim.keras")
    np.testing.assert_allclose(slim(x), model(x), atol=1e-6)
