"""Tests of `tfdefend.attacks.square` (Square Attack, L-inf, score-based)."""

import numpy as np
import pytest

from tfdefend.attacks import square
from tfdefend.attacks.square import square_fraction

EPS = 0.15


def test_fraction_schedule_of_the_paper():
    assert square_fraction(0.8, 0, 10000) == 0.8
    assert square_fraction(0.8, 11, 10000) == 0.4
    assert square_fraction(0.8, 201, 10000) == pytest.approx(0.1)
    assert square_fraction(0.8, 9999, 10000) == pytest.approx(0.8 / 512)
    assert square_fraction(0.8, 500, 5000) == pytest.approx(0.8 / 16)  # 1,000 of 10k scaled


def test_breaks_the_digits_model_within_budget_and_queries(digits_model, accuracy):
    model, x, y, _ = digits_model
    x, y = x[:80], y[:80]
    out, info = square(model, x, y, eps=EPS, queries=300, seed=0, return_info=True)
    assert out.shape == x.shape and out.dtype == np.float32
    assert np.max(np.abs(out - x)) <= EPS + 1e-6 and out.min() >= 0.0 and out.max() <= 1.0
    assert np.all(info["queries"] <= 300) and np.all(info["queries"] >= 1)
    pred = np.argmax(np.asarray(model(out)), 1)
    np.testing.assert_array_equal(info["success"], pred != y)
    assert accuracy(model, out, y) <= 0.5
    # Fooled images stop costing queries.
    assert info["queries"][info["success"]].mean() < info["queries"][~info["success"]].mean() or \
        info["success"].all()


def test_needs_no_gradient_a_numpy_scores_function_works(digits_model, accuracy):
    model, x, y, _ = digits_model
    x, y = x[:40], y[:40]
    calls = []

    def scores(images):  # a black box: NumPy in, NumPy out
        calls.append(len(images))
        return np.asarray(model(images))

    out = square(scores, x, y, eps=EPS, queries=150, seed=1)
    assert accuracy(model, out, y) < 1.0 and sum(calls) <= 150 * 40 + 40


def test_more_queries_never_hurt_and_seeded_runs_repeat(digits_model, accuracy):
    model, x, y, _ = digits_model
    x, y = x[:40], y[:40]
    a = square(model, x, y, eps=0.1, queries=50, seed=3)
    np.testing.assert_array_equal(a, square(model, x, y, eps=0.1, queries=50, seed=3))
    b = square(model, x, y, eps=0.1, queries=400, seed=3)
    assert accuracy(model, b, y) <= accuracy(model, a, y)


def test_eps_zero_or_one_query_changes_nothing(digits_model):
    model, x, y, _ = digits_model
    np.testing.assert_array_equal(square(model, x[:8], y[:8], eps=0.0, queries=20), x[:8])
    np.testing.assert_array_equal(square(model, x[:8], y[:8], eps=0.1, queries=1), x[:8])


@pytest.mark.parametrize("kwargs,error,word", [
    ({"norm": "l2"}, ValueError, "`norm`"),
    ({"queries": 0}, ValueError, "`queries`"),
    ({"p_init": 0.0}, ValueError, "`p_init`"),
    ({"p_init": 1.5}, ValueError, "`p_init`"),
    ({"eps": -1.0}, ValueError, "`eps`"),
    ({"clip": None}, ValueError, "`clip`"),
    ({"targeted": True}, ValueError, "`y`"),
])
def test_bad_arguments(tiny_model, rand_images, kwargs, error, word):
    with pytest.raises(error, match=word):
        square(tiny_model, rand_images, **{"eps": 0.1, "queries": 3, **kwargs})


def test_bad_model_and_images(tiny_model, rand_images):
    with pytest.raises(TypeError, match="`model`"):
        square("model", rand_images, eps=0.1)
    with pytest.raises(ValueError, match="`x`"):
        square(tiny_model, rand_images + 2.0, eps=0.1)
    with pytest.raises(ValueError, match="scores of shape"):
        square(lambda t: np.zeros((len(t),)), rand_images, eps=0.1)
