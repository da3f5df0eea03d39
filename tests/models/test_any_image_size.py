"""The fully convolutional models built with `input_shape=(None, None, C)` serve every image size."""

import keras
import numpy as np
import pytest

from tfdefend.models import create_model
from tfdefend.utils.validation import check_input_shape
from tfdefend.models._shapes import check_image_shape
from tests.harness import TINY_OVERRIDES

FULLY_CONVOLUTIONAL = ["comcnn", "comdefend", "comdefend_residual", "dae", "dncnn", "light_denoiser",
                       "rescnn", "uddn"]
SIZES = [(12, 12), (17, 9)]  # 17x9 needs padding in the DAE and UDDN


def _channels(name):
    return 4 if name == "rescnn" else 1  # the decoder reads a 4-channel code


@pytest.mark.parametrize("name", FULLY_CONVOLUTIONAL)
def test_one_model_runs_on_two_image_sizes_like_fixed_size_models(name):
    channels = _channels(name)
    model = create_model(name, input_shape=(None, None, channels), **TINY_OVERRIDES[name])
    assert model.image_shape == (None, None, channels)
    noise = np.random.default_rng(0)
    weights = [w + noise.normal(0, 0.05, w.shape).astype(w.dtype) for w in model.get_weights()]
    model.set_weights(weights)
    rng = np.random.default_rng(1)
    for height, width in SIZES:
        x = rng.uniform(0, 1, (2, height, width, channels)).astype("float32")
        out = np.asarray(model(x, training=False))
        fixed = create_model(name, input_shape=(height, width, channels), **TINY_OVERRIDES[name])
        fixed.set_weights(weights)
        assert out.shape[:3] == (2, height, width)
        np.testing.assert_allclose(out, np.asarray(fixed(x, training=False)), atol=1e-5)


def test_any_size_model_saves_and_reloads(tmp_path):
    model = create_model("uddn", input_shape=(None, None, 1), **TINY_OVERRIDES["uddn"])
    path = tmp_path / "uddn.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.image_shape == (None, None, 1)
    x = np.random.default_rng(0).uniform(0, 1, (2, 10, 14, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(reloaded(x)), np.asarray(model(x)), atol=1e-6)


def test_check_image_shape():
    assert check_image_shape([None, None, 3], check_input_shape) == (None, None, 3)
    assert check_image_shape((None, 8, 3), check_input_shape, min_size=4) == (None, 8, 3)
    assert check_image_shape((8, 8, 3), check_input_shape) == (8, 8, 3)
    with pytest.raises(ValueError, match="input_shape"):
        check_image_shape((None, None, None), check_input_shape)
    with pytest.raises(ValueError, match="input_shape"):
        check_image_shape((None, 2, 1), check_input_shape, min_size=4)
    with pytest.raises(ValueError, match="input_shape"):
        check_image_shape((None, None, 0), check_input_shape)


def test_models_with_dense_layers_still_need_a_size():
    with pytest.raises(TypeError, match="input_shape"):
        create_model("small_cnn", input_shape=(None, None, 1), num_classes=3)
