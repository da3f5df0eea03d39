"""Self-tests of `tests/harness.py`: its data is what it promises, and its checks can fail."""

import keras
import numpy as np
import pytest

from tests.harness import images, perturb_weights, run_model_test, run_saving_test


@keras.saving.register_keras_serializable(package="tests_harness")
class ScaledLogits(keras.Model):
    """Dense logits times `scale`, which `get_config` drops when `forget` is set (a serialization bug)."""

    def __init__(self, scale=1.0, forget=False, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.forget = scale, forget
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(2)

    def call(self, x):
        return self.dense(self.flatten(x)) * self.scale

    def get_config(self):
        config = {**super().get_config(), "scale": self.scale, "forget": self.forget}
        if self.forget:
            del config["scale"]
        return config


def _dense_model(scale=1.0, forget=False):
    model = ScaledLogits(scale, forget)
    model(images(1, (4, 4, 1)))
    return model


def test_images_are_seeded_float32_in_range():
    x = images(5, (6, 4, 3), seed=2, low=0.2, high=0.3)
    assert x.shape == (5, 6, 4, 3) and x.dtype == np.float32
    assert x.min() >= 0.2 and x.max() < 0.3
    np.testing.assert_array_equal(x, images(5, (6, 4, 3), seed=2, low=0.2, high=0.3))
    assert not np.array_equal(images(2), images(2, seed=1))


def test_images_from_a_generator_advance_it():
    rng = np.random.default_rng(0)
    first, second = images(2, seed=rng), images(2, seed=rng)
    np.testing.assert_array_equal(first, images(2))
    assert not np.array_equal(first, second)


def test_images_on_a_grid():
    x = images(3, (8, 8, 1), levels=255)
    np.testing.assert_allclose(x * 255, np.round(x * 255), atol=1e-4)
    assert len(np.unique(x)) > 100


def test_perturb_weights_moves_every_weight():
    model = _dense_model()
    before = model.get_weights()
    perturb_weights(model)
    assert all(np.all(after > w) for after, w in zip(model.get_weights(), before))


def test_run_model_test_checks_the_output_shape_and_dtype():
    x = images(3, (4, 4, 1))
    model, out = run_model_test(_dense_model, {}, x, (3, 2))
    assert isinstance(model, keras.Model) and out.shape == (3, 2)
    with pytest.raises(AssertionError):
        run_model_test(_dense_model, {}, x, (3, 3))
    with pytest.raises(AssertionError):
        run_model_test(_dense_model, {}, x, (3, 2), expected_output_dtype="float16")


def test_run_saving_test_passes_a_sound_model_and_catches_a_lost_argument(tmp_path):
    x = images(3, (4, 4, 1))
    sound = _dense_model(scale=3.0)
    perturb_weights(sound)
    reloaded = run_saving_test(sound, x, tmp_path)
    assert type(reloaded) is ScaledLogits and reloaded.scale == 3.0
    with pytest.raises(AssertionError):
        run_saving_test(_dense_model(scale=3.0, forget=True), x, tmp_path)
