"""Tests of `tfdefend.attacks.jsma`."""

import sys

import numpy as np
import pytest

from tfdefend.attacks import _core, jsma


def _changed(a, b):
    return np.sum(a.reshape(len(a), -1) != b.reshape(len(b), -1), axis=1)


@pytest.mark.parametrize("gamma", [0.1, 0.5])
def test_feature_budget_and_clip(digits_model, gamma):
    model, x, y, _ = digits_model
    out = jsma(model, x[:50], (y[:50] + 1) % 10, gamma=gamma)
    assert out.shape == x[:50].shape and out.dtype == np.float32
    assert np.all(_changed(out, x[:50]) <= gamma * 64)
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.all(out >= x[:50])  # theta > 0 only increases features


def test_hits_given_target(digits_model):
    model, x, y, _ = digits_model
    target = (y + 1) % 10
    out = jsma(model, x, target, gamma=0.5)
    hit = np.argmax(model(out, training=False), axis=1) == target
    assert hit.mean() >= 0.8


def test_random_targets_are_seeded_and_differ_from_prediction(digits_model):
    model, x, y, _ = digits_model
    a = jsma(model, x[:40], gamma=0.5, seed=3)
    b = jsma(model, x[:40], gamma=0.5, seed=3)
    np.testing.assert_array_equal(a, b)
    pred = np.argmax(model(a, training=False), axis=1)
    assert np.mean(pred != y[:40]) >= 0.8


def test_decreasing_theta(digits_model):
    model, x, y, _ = digits_model
    out = jsma(model, x[:40], (y[:40] + 2) % 10, theta=-1.0, gamma=0.5)
    assert np.all(out <= x[:40])
    assert np.all(_changed(out, x[:40]) <= 32)


def test_chunking_matches_single_pass(digits_model, monkeypatch):
    model, x, y, _ = digits_model
    target = (y[:25] + 1) % 10
    whole = jsma(model, x[:25], target, gamma=0.3)
    before = _core.tracing_counts(model)[("jsma", (True,))]
    # Chunks of 7 images; the last one (4 images) is padded so all four calls share one trace (none at
    # all when an earlier batch size already made the traced batch dimension unknown).
    monkeypatch.setattr(sys.modules["tfdefend.attacks.jsma"], "_PAIR_BUDGET", 64 * 64 * 7)
    chunked = jsma(model, x[:25], target, gamma=0.3)
    np.testing.assert_allclose(chunked, whole, atol=1e-6)
    assert _core.tracing_counts(model)[("jsma", (True,))] <= before + 1
