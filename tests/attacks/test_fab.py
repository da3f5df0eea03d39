"""Tests of `tfdefend.attacks.fab` (FAB-T) and its projection on a hyperplane inside the box."""

import numpy as np
import pytest
import tensorflow as tf

from tfdefend.attacks import deepfool, fab
from tfdefend.attacks.fab import project_on_boundary


def _size(d, norm):
    flat = d.reshape(len(d), -1)
    return np.abs(flat).max(1) if norm == "inf" else np.sqrt((flat.astype(np.float64) ** 2).sum(1))


@pytest.mark.parametrize("norm", ["inf", "l2"])
def test_projection_meets_the_hyperplane_in_the_box_with_the_smallest_step(norm):
    rng = np.random.default_rng(0)
    point = rng.uniform(0.2, 0.8, size=(6, 4, 4, 1)).astype("float32")
    w = rng.normal(size=point.shape).astype("float32")
    r = rng.normal(size=6).astype("float32") * 0.5
    d = project_on_boundary(tf.constant(point), tf.constant(w), tf.constant(r), 0.0, 1.0, norm).numpy()
    np.testing.assert_allclose((w * d).reshape(6, -1).sum(1), r, rtol=1e-3, atol=1e-4)
    assert (point + d).min() >= -1e-6 and (point + d).max() <= 1 + 1e-6
    # Smallest: random feasible steps on the same hyperplane are never shorter.
    for _ in range(50):
        other = rng.normal(size=point.shape).astype("float32") * 0.3
        other += ((r - (w * other).reshape(6, -1).sum(1)) / (w * w).reshape(6, -1).sum(1))[:, None, None, None] * w
        inside = ((point + other).reshape(6, -1).min(1) >= 0) & ((point + other).reshape(6, -1).max(1) <= 1)
        assert np.all(_size(d, norm)[inside] <= _size(other, norm)[inside] + 1e-4)


@pytest.mark.parametrize("norm", ["inf", "l2"])
def test_finds_small_adversarials_no_larger_than_deepfool(digits_model, norm):
    model, x, y, _ = digits_model
    x, y = x[:40], y[:40]
    out, norms = fab(model, x, y, norm=norm, steps=20, target_classes=3, return_norms=True)
    pred = np.argmax(np.asarray(model(out)), 1)
    found = np.isfinite(norms)
    assert found.mean() >= 0.95 and np.all(pred[found] != y[found])
    np.testing.assert_allclose(_size(out - x, norm)[found], norms[found], atol=1e-5)
    if norm == "l2":  # DeepFool is an L2 minimal-perturbation attack: FAB should not do worse
        df = deepfool(model, x, steps=50, overshoot=0.02)
        df_fooled = np.argmax(np.asarray(model(df)), 1) != y
        both = found & df_fooled
        assert np.median(norms[both]) <= np.median(_size(df - x, "l2")[both]) * 1.05


def test_budget_keeps_only_adversarials_within_eps(digits_model, accuracy):
    model, x, y, _ = digits_model
    x, y = x[:40], y[:40]
    _, norms = fab(model, x, y, steps=15, target_classes=2, return_norms=True)
    eps = float(np.median(norms))
    out = fab(model, x, y, eps=eps, steps=15, target_classes=2)
    assert np.max(np.abs(out - x)) <= eps + 1e-6
    assert accuracy(model, out, y) <= 0.6  # about half the images have an adversarial within the median


@pytest.mark.parametrize("kwargs,error,word", [
    ({"steps": 0}, ValueError, "`steps`"),
    ({"target_classes": 10}, ValueError, "`target_classes`"),
    ({"norm": "l1"}, ValueError, "norm"),
    ({"eps": -1.0}, ValueError, "`eps`"),
    ({"clip": None}, ValueError, "`clip`"),
])
def test_bad_arguments(tiny_model, rand_images, kwargs, error, word):
    with pytest.raises(error, match=word):
        fab(tiny_model, rand_images, **{"steps": 2, **kwargs})
