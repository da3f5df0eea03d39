"""Tests of the random-region layers `Cutout`, `GridMask`, `HideAndSeek` and `random_erasing`."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdefend.augment import Cutout, GridMask, HideAndSeek, RandomErasing, augmented_dataset, random_erasing

ONES = np.ones((64, 16, 16, 1), np.float32)


def _erased(layer, images=ONES):
    return 1.0 - np.asarray(layer(images, training=True))  # 1 where erased (fill 0 on ones)


def _cutout_expected_fraction(side, size):
    """E[erased area]/side^2 with the centre uniform over pixels (square clipped by the border)."""
    c = np.arange(side)
    length = np.minimum(c - size // 2 + size, side) - np.maximum(c - size // 2, 0)
    return float(np.mean(length)) ** 2 / side ** 2


@pytest.mark.parametrize("make", [lambda: Cutout(6, seed=0), lambda: GridMask((4, 8), 0.5, seed=0),
                                  lambda: HideAndSeek((4,), 0.5, seed=0)])
def test_identity_at_inference(make):
    layer = make()
    np.testing.assert_array_equal(layer(ONES[:4], training=False), ONES[:4])
    np.testing.assert_array_equal(layer(ONES[:4]), ONES[:4])  # training defaults to inference


def test_cutout_area_and_single_square():
    erased = _erased(Cutout(8, seed=0))[..., 0]
    assert set(np.unique(erased)) <= {0.0, 1.0}
    rows, cols = erased.any(axis=2).sum(axis=1), erased.any(axis=1).sum(axis=1)
    np.testing.assert_array_equal(erased.sum(axis=(1, 2)), rows * cols)  # one axis-aligned rectangle
    assert rows.max() <= 8 and cols.max() <= 8
    assert abs(erased.mean() - _cutout_expected_fraction(16, 8)) < 0.04


def test_gridmask_fraction_is_ratio_squared():
    erased = _erased(GridMask((8, 8), 0.5, seed=0))
    np.testing.assert_allclose(erased.mean(axis=(1, 2, 3)), 0.25)  # d divides 16: exact per image
    rotated = _erased(GridMask((8, 8), 0.5, rotation=45.0, seed=0))
    assert abs(rotated.mean() - 0.25) < 0.05
    assert _erased(GridMask((4, 8), 0.5, probability=0.0, seed=0)).sum() == 0


def test_hide_and_seek_fraction_and_patches():
    erased = _erased(HideAndSeek((4,), 0.5, seed=0))[..., 0]
    assert abs(erased.mean() - 0.5) < 0.05
    blocks = erased.reshape(64, 4, 4, 4, 4)  # 4x4 patches: each all-hidden or all-kept
    assert np.all(blocks.min(axis=(2, 4)) == blocks.max(axis=(2, 4)))
    assert _erased(HideAndSeek((0,), 1.0, seed=0)).sum() == 0
    assert abs(_erased(HideAndSeek((0, 4), 1.0, seed=0)).mean() - 0.5) < 0.15


@pytest.mark.parametrize("cls,args", [(Cutout, (6,)), (GridMask, ((4, 8), 0.5)), (HideAndSeek, ((4,), 0.5))])
def test_seeded_calls_vary_and_repeat(cls, args):
    a, b = cls(*args, seed=3), cls(*args, seed=3)
    first, second = _erased(a, ONES[:8]), _erased(a, ONES[:8])
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, _erased(b, ONES[:8]))
    np.testing.assert_array_equal(second, _erased(b, ONES[:8]))


@pytest.mark.parametrize("layer", [Cutout(4, fill_value=0.5, seed=1, name="c"),
                                   GridMask((3, 6), 0.4, rotation=10.0, probability=0.7, seed=2),
                                   HideAndSeek((0, 2, 4), 0.3, seed=None)])
def test_get_config_round_trip(layer):
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(clone) is type(layer) and clone.get_config() == layer.get_config()


def test_inside_model_fit_and_saved(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), Cutout(3, seed=0), GridMask((2, 4), 0.5, seed=0),
                              HideAndSeek((2,), 0.5, seed=0), keras.layers.Flatten(), keras.layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = np.random.default_rng(0).uniform(size=(16, 8, 8, 1)).astype("float32"), np.arange(16) % 3
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_in_tf_data_map_varies_per_epoch_and_repeats():
    x, y = np.ones((8, 8, 8, 1), np.float32), np.arange(8)

    def epochs(seed):
        ds = augmented_dataset(x, y, Cutout(4, seed=seed), batch_size=4, seed=seed)
        return [np.concatenate([b[0].numpy() for b in ds]) for _ in range(2)]

    e1, e2 = epochs(5)
    assert not np.array_equal(e1, e2)
    r1, r2 = epochs(5)
    np.testing.assert_array_equal(e1, r1)
    np.testing.assert_array_equal(e2, r2)
    ds = augmented_dataset(x, y, None, batch_size=3, shuffle=False)
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in ds]), x)


def test_random_erasing_is_keras_layer():
    assert RandomErasing is keras.layers.RandomErasing
    layer = random_erasing(1.0, (0.25, 0.25), fill_value=0.0, seed=0)
    assert isinstance(layer, keras.layers.RandomErasing) and layer.factor == (1.0, 1.0)
    erased = _erased(layer)
    assert 0.1 < erased.mean() < 0.4
    np.testing.assert_array_equal(layer(ONES[:2], training=False), ONES[:2])
    assert _erased(random_erasing(0.0, seed=0)).sum() == 0


@pytest.mark.parametrize("make,match", [
    (lambda: Cutout(-1), "size"), (lambda: Cutout(2.5), "size"), (lambda: Cutout(4, seed=-1), "seed"),
    (lambda: GridMask((8, 4)), "d_range"), (lambda: GridMask((1, 4)), "d_range"),
    (lambda: GridMask(ratio=1.5), "ratio"), (lambda: GridMask(rotation=-5.0), "rotation"),
    (lambda: GridMask(probability=2.0), "probability"), (lambda: HideAndSeek((-4,)), "patch_sizes"),
    (lambda: HideAndSeek(()), "patch_sizes"), (lambda: HideAndSeek(probability=-0.1), "probability"),
    (lambda: random_erasing(1.5), "probability"), (lambda: random_erasing(0.5, (0.5, 0.1)), "area"),
    (lambda: Cutout(4, fill_value="x"), "fill_value"),
])
def test_bad_arguments(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bad_images():
    with pytest.raises(ValueError, match="images"):
        Cutout(2)(tf.ones((8, 8, 1)), training=True)
    with pytest.raises(ValueError, match="x"):
        augmented_dataset(np.ones((4, 8, 8)), np.arange(4))
    with pytest.raises(ValueError, match="y"):
        augmented_dataset(np.ones((4, 8, 8, 1)), np.arange(3))
