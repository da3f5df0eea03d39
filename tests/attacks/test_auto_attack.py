"""Tests of `tfdefend.attacks.auto_attack` (the AutoAttack ensemble)."""

import numpy as np
import pytest
import tensorflow as tf

from tfdefend.attacks import apgd, auto_attack

EPS = 0.12


def test_standard_report_is_monotone_and_matches_the_returned_batch(digits_model, accuracy):
    model, x, y, clean = digits_model
    x, y = x[:60], y[:60]
    x_adv, report = auto_attack(model, x, y, eps=EPS, steps=15, queries=60, seed=0)
    names = [a["name"] for a in report["attacks"]]
    assert names == ["apgd-ce", "apgd-t", "fab-t", "square"]
    chain = [report["clean_accuracy"]] + [a["robust_accuracy"] for a in report["attacks"]]
    assert all(b <= a for a, b in zip(chain, chain[1:]))
    assert report["robust_accuracy"] == chain[-1] == pytest.approx(accuracy(model, x_adv, y))
    assert report["n"] == 60 and report["attacks"][0]["ran_on"] == round(report["clean_accuracy"] * 60)
    for before, attack in zip(chain, report["attacks"]):
        assert attack["ran_on"] == round(before * 60)
        assert attack["broken"] == round((before - attack["robust_accuracy"]) * 60)
    assert np.max(np.abs(x_adv - x)) <= EPS + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    # At least as strong as its first attack alone.
    alone = apgd(model, x, y, eps=EPS, steps=15, seed=0)
    assert report["robust_accuracy"] <= accuracy(model, alone, y)


def test_l2_standard_runs_the_gradient_attacks_and_bounds_the_norm(digits_model):
    model, x, y, _ = digits_model
    x_adv, report = auto_attack(model, x[:30], y[:30], eps=1.0, norm="l2", steps=10, queries=30, seed=0)
    assert [a["name"] for a in report["attacks"]] == ["apgd-ce", "apgd-t", "fab-t", "square"]
    norms = np.sqrt(np.sum((x_adv.astype(np.float64) - x[:30]) ** 2, axis=(1, 2, 3)))
    assert np.all(norms <= 1.0 + 1e-5)


def test_l2_standard_ends_with_the_l2_square_attack(digits_model):
    """Square runs in the L2 ensemble too, with the L2 budget, on what the gradient attacks left."""
    model, x, y, _ = digits_model
    x, y = x[:20], y[:20]
    x_adv, report = auto_attack(model, x, y, eps=0.3, norm="l2", steps=2, queries=40, seed=0)
    last = report["attacks"][-1]
    assert last["name"] == "square" and last["cost_per_image"] == 40
    assert last["ran_on"] == round(report["attacks"][-2]["robust_accuracy"] * 20) > 0
    norms = np.sqrt(np.sum((x_adv.astype(np.float64) - x) ** 2, axis=(1, 2, 3)))
    assert np.all(norms <= 0.3 + 1e-5) and x_adv.min() >= 0 and x_adv.max() <= 1


def test_rand_version_attacks_a_randomized_model_through_eot(digits_model):
    model, x, y, _ = digits_model

    def noisy(t):  # a randomized defense: Gaussian noise in front of the classifier
        return model(tf.clip_by_value(t + tf.random.normal(tf.shape(t), stddev=0.05), 0.0, 1.0))

    _, report = auto_attack(noisy, x[:30], y[:30], eps=EPS, version="rand", steps=8, eot_samples=4, seed=0)
    assert [a["name"] for a in report["attacks"]] == ["apgd-ce-eot", "apgd-dlr-eot"]
    assert report["robust_accuracy"] < report["clean_accuracy"]
    assert report["attacks"][0]["cost_per_image"] == 32


def test_fast_version_and_chunking_agree_with_one_batch(digits_model):
    model, x, y, _ = digits_model
    a, ra = auto_attack(model, x[:40], y[:40], eps=EPS, version="fast", steps=10, seed=1)
    b, rb = auto_attack(model, x[:40], y[:40], eps=EPS, version="fast", steps=10, seed=1, batch_size=7)
    assert [r["name"] for r in ra["attacks"]] == ["apgd-ce", "apgd-dlr"]
    assert abs(ra["robust_accuracy"] - rb["robust_accuracy"]) <= 0.1


def test_nothing_left_to_attack_runs_nothing(digits_model):
    model, x, y, _ = digits_model
    wrong = (y[:10] + 1) % 10  # every image "misclassified": no attack has work
    x_adv, report = auto_attack(model, x[:10], wrong, eps=EPS, steps=5, queries=5)
    np.testing.assert_array_equal(x_adv, x[:10])
    assert report["clean_accuracy"] == 0.0 and all(a["ran_on"] == 0 for a in report["attacks"])


@pytest.mark.parametrize("kwargs,error,word", [
    ({"version": "plus"}, ValueError, "`version`"),
    ({"version": np.array(["standard"])}, ValueError, "`version`"),
    ({"steps": 0}, ValueError, "`steps`"),
    ({"queries": 0}, ValueError, "`queries`"),
    ({"batch_size": 0}, ValueError, "`batch_size`"),
    ({"norm": "l1"}, ValueError, "norm"),
    ({"seed": -1}, ValueError, "`seed`"),
    ({"clip": None}, ValueError, "`clip`"),  # FAB and Square of the standard version need the box
])
def test_bad_arguments(tiny_model, rand_images, kwargs, error, word):
    with pytest.raises(error, match=word):
        auto_attack(tiny_model, rand_images, **{"eps": 0.1, "steps": 2, "queries": 2, **kwargs})
