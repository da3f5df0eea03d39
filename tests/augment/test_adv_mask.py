"""Tests of `AdvMask` and `advmask_dataset`."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdefend.augment import AdvMask, advmask_dataset

RNG = np.random.default_rng(0)


def _points(n=16, side=16, per_image=12):
    masks = np.zeros((n, side * side), np.float32)
    for i in range(n):
        masks[i, RNG.choice(side * side, per_image, replace=False)] = 1.0
    return masks.reshape(n, side, side, 1)


def test_regions_cover_their_points_and_respect_ratio():
    masks = _points()
    layer = AdvMask(min_size=3, max_size=6, min_ratio=0.1, max_ratio=0.4, seed=0)
    out = layer.sample_regions(masks)
    region, points = out["region"].numpy(), out["points"].numpy()
    assert region.shape == masks.shape and set(np.unique(region)) <= {0.0, 1.0}
    assert not out["fallback"].numpy().any()
    assert np.all(points <= masks)  # grown from sensitive points
    assert np.all(points <= region)  # and the squares cover them
    assert np.all(points.sum(axis=(1, 2, 3)) >= 1)
    ratio = region.mean(axis=(1, 2, 3))
    assert np.all(ratio <= 0.4 + 1e-6) and np.mean(ratio >= 0.1) >= 0.9


def test_squares_are_added_until_min_ratio_is_reached():
    masks = _points(n=16, side=20, per_image=30)  # 400 px; a 6 px square erases 9%
    one = AdvMask(min_size=6, max_size=6, min_ratio=0.03, max_ratio=0.5, seed=0).sample_regions(masks)
    np.testing.assert_array_equal(one["region"].numpy().sum(axis=(1, 2, 3)), 36)  # the first square suffices
    more = AdvMask(min_size=6, max_size=6, min_ratio=0.2, max_ratio=0.5, seed=0).sample_regions(masks)
    area = more["region"].numpy().sum(axis=(1, 2, 3))
    assert np.all(area <= 0.5 * 400) and np.mean(area >= 0.2 * 400) >= 0.9
    assert np.all(area < 0.2 * 400 + 36)  # no square once the target is reached


def test_squares_stay_whole_inside_the_image():
    masks = np.zeros((4, 16, 16, 1), np.float32)
    masks[0, 0, 0], masks[1, 15, 15], masks[2, 0, 15], masks[3, 15, 0] = 1, 1, 1, 1
    layer = AdvMask(min_size=6, max_size=6, min_ratio=0.0, max_ratio=1.0, max_regions=1, min_points=1, seed=0)
    for _ in range(3):
        out = layer.sample_regions(masks)
        region = out["region"].numpy()[..., 0]
        np.testing.assert_array_equal(region.sum(axis=(1, 2)), 36)  # not cut by the border
        np.testing.assert_array_equal(out["points"].numpy(), masks)


def test_regions_vary_between_calls_and_repeat_with_seed():
    masks = _points(8)
    a, b = AdvMask(min_size=2, max_size=5, seed=7), AdvMask(min_size=2, max_size=5, seed=7)
    ra1, ra2 = a.sample_regions(masks)["region"].numpy(), a.sample_regions(masks)["region"].numpy()
    assert not np.array_equal(ra1, ra2)
    np.testing.assert_array_equal(ra1, b.sample_regions(masks)["region"].numpy())
    np.testing.assert_array_equal(ra2, b.sample_regions(masks)["region"].numpy())
    np.testing.assert_array_equal(a.sample_regions(masks, seed=3)["region"], a.sample_regions(masks, seed=3)["region"])


def test_call_erases_region_and_is_identity_at_inference():
    images = np.ones((8, 16, 16, 1), np.float32)
    masks = _points(8)
    layer = AdvMask(min_size=3, max_size=5, seed=1, fill_value=0.25)
    np.testing.assert_array_equal(layer((images, masks), training=False), images)
    np.testing.assert_array_equal(layer({"images": images, "masks": masks}), images)
    out = np.asarray(layer((images, masks), training=True))
    assert set(np.unique(out)) == {0.25, 1.0}


def test_fallback_to_gridmask_without_points():
    masks = _points(4)
    masks[1:3] = 0.0
    layer = AdvMask(min_size=3, max_size=5, fallback_config={"d_range": (4, 4), "ratio": 0.5}, seed=0)
    out = layer.sample_regions(masks)
    np.testing.assert_array_equal(out["fallback"].numpy(), [False, True, True, False])
    region = out["region"].numpy()
    np.testing.assert_allclose(region[1:3].mean(axis=(1, 2, 3)), 0.25)  # the 4-px grid, half side erased
    assert out["points"].numpy()[1:3].sum() == 0
    off = AdvMask(min_size=3, max_size=5, use_fallback=False, seed=0).sample_regions(masks)["region"].numpy()
    assert off[1:3].sum() == 0 and off[0].sum() > 0


def test_adv_only_erases_the_points_themselves():
    masks = _points(4)
    out = AdvMask(grow=False, seed=0).sample_regions(masks)
    np.testing.assert_array_equal(out["region"].numpy(), masks)


def test_default_sizes_scale_with_the_image():
    masks = np.zeros((2, 28, 28, 1), np.float32)
    masks[:, 14, 14] = 1
    region = AdvMask(max_regions=1, min_points=1, seed=0).sample_regions(masks)["region"].numpy()
    sides = np.sqrt(region.sum(axis=(1, 2, 3)))
    assert np.all((sides >= 4) & (sides <= 18))


def test_get_config_round_trip():
    layer = AdvMask(3, 9, 0.05, 0.3, max_overlap=0.2, max_regions=8, min_points=2, grow=False,
                    fallback_config={"d_range": [3, 5], "ratio": 0.4}, probability=0.8, seed=4)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(clone, AdvMask) and clone.get_config() == layer.get_config()


@pytest.mark.parametrize("kwargs,match", [
    ({"min_size": -1}, "min_size"), ({"min_size": 8, "max_size": 4}, "min_size"),
    ({"min_ratio": 0.6, "max_ratio": 0.4}, "min_ratio"), ({"max_ratio": 1.5}, "max_ratio"),
    ({"min_ratio": -0.1}, "min_ratio"), ({"max_overlap": 2.0}, "max_overlap"), ({"max_regions": 0}, "max_regions"),
    ({"probability": 1.1}, "probability"), ({"fallback_config": [1]}, "fallback_config"),
    ({"fallback_config": {"ratio": 3.0}}, "ratio"), ({"seed": "a"}, "seed"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        AdvMask(**kwargs)


def test_bad_masks():
    layer = AdvMask(seed=0)
    images = np.ones((4, 8, 8, 1), np.float32)
    for masks in (np.ones((4, 8, 8)), np.ones((4, 8, 8, 3)), np.ones((4, 7, 8, 1)), np.ones((3, 8, 8, 1))):
        with pytest.raises(ValueError, match="masks"):
            layer((images, masks), training=True)
    with pytest.raises(TypeError, match="images, masks"):
        layer(images, training=True)
    with pytest.raises(ValueError, match="masks"):
        layer({"images": images}, training=True)
    with pytest.raises(ValueError, match="masks"):
        advmask_dataset(images, np.arange(4), np.ones((4, 8, 8, 2)))
    with pytest.raises(ValueError, match="masks"):
        advmask_dataset(images, np.arange(4), np.full((4, 8, 8, 1), 0.5))
    with pytest.raises(TypeError, match="layer"):
        advmask_dataset(images, np.arange(4), np.ones((4, 8, 8, 1)), layer=layer, min_size=2)


def test_dataset_redraws_each_epoch_and_fit_runs():
    x = RNG.uniform(size=(16, 8, 8, 1)).astype(np.float32)
    y = (np.arange(16) % 3).astype(np.int32)
    masks = _points(16, side=8, per_image=5)
    ds = advmask_dataset(x, y, masks, batch_size=8, seed=0, shuffle=False, min_size=2, max_size=4)
    first = np.concatenate([b[0].numpy() for b in ds])
    second = np.concatenate([b[0].numpy() for b in ds])
    assert not np.array_equal(first, second)
    assert np.all((first == x) | (first == 0.0))
    again = advmask_dataset(x, y, masks, batch_size=8, seed=0, shuffle=False, min_size=2, max_size=4)
    np.testing.assert_array_equal(first, np.concatenate([b[0].numpy() for b in again]))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
                              keras.layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(advmask_dataset(x, y, masks, batch_size=8, seed=0), epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_advmask_inside_a_model_with_two_inputs():
    images, masks = keras.Input((8, 8, 1)), keras.Input((8, 8, 1))
    erased = AdvMask(min_size=2, max_size=3, seed=0)((images, masks))
    logits = keras.layers.Dense(3)(keras.layers.Flatten()(erased))
    model = keras.Model([images, masks], logits)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = RNG.uniform(size=(8, 8, 8, 1)).astype(np.float32)
    model.fit([x, _points(8, side=8, per_image=4)], np.arange(8) % 3, epochs=1, verbose=0)
    assert tf.reduce_all(tf.math.is_finite(model([x, _points(8, side=8, per_image=4)])))
