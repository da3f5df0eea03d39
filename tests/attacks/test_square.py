"""Tests of `tfdefend.attacks.square` (Square Attack, L-inf and L2, score-based)."""

import numpy as np
import pytest

from tfdefend.attacks import _square_l2, square
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
    ({"norm": "l1"}, ValueError, "`norm`"),
    ({"norm": "l2", "eps": -0.5}, ValueError, "`eps`"),
    ({"norm": "l2", "p_init": 0.0}, ValueError, "`p_init`"),
    ({"p_init": "0.1"}, TypeError, "`p_init`"),
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
    with pytest.raises(ValueError, match="`x`"):  # the model takes 8x8 images
        square(tiny_model, np.zeros((2, 9, 9, 1), np.float32), eps=0.5, norm="l2")
    with pytest.raises(ValueError, match="scores of shape"):
        square(lambda t: np.zeros((len(t),)), rand_images, eps=0.1)


# --------------------------------------------------------------------------- L2


def _l2(a, b):
    return np.sqrt(np.sum((np.asarray(a, np.float64) - b) ** 2, axis=(1, 2, 3)))


def test_l2_squares_of_the_paper():
    bump = _square_l2.pseudo_gaussian(5, 7)
    assert np.sum(bump ** 2) == pytest.approx(1.0) and np.unravel_index(bump.argmax(), bump.shape) == (2, 3)
    square_ = _square_l2.meta_pseudo_gaussian(7)
    assert np.sum(square_ ** 2) == pytest.approx(1.0)
    assert np.all(square_[:3] > 0) and np.all(square_[3:] < 0)  # a bump up top, a negated one below
    np.testing.assert_array_equal(_square_l2.meta_pseudo_gaussian(7, transpose=True), square_.T)
    assert [_square_l2.side_of(p, 28, 28) for p in (0.8, 0.1, 0.01, 0.0001)] == [25, 9, 3, 3]
    assert _square_l2.side_of(0.1, 8, 2) == 2  # never wider than the image
    start = _square_l2.initial_perturbation((3, 28, 28, 2), 1.5, np.random.default_rng(0))
    np.testing.assert_allclose(np.sqrt(np.sum(start ** 2, axis=(1, 2, 3))), 1.5)


@pytest.mark.parametrize("eps,clip", [(1.0, (0.0, 1.0)), (1.0, (-1.0, 2.0)), (20.0, (0.0, 1.0))])
def test_l2_stays_in_the_ball_and_the_box_within_the_query_budget(digits_model, eps, clip):
    model, x, y, _ = digits_model
    x, y = x[:40], y[:40]
    out, info = square(model, x, y, eps=eps, norm="l2", queries=60, seed=0, clip=clip, return_info=True)
    assert out.shape == x.shape and out.dtype == np.float32
    assert np.all(_l2(out, x) <= eps + 1e-5) and out.min() >= clip[0] and out.max() <= clip[1]
    assert np.all(info["queries"] <= 60) and np.all(info["queries"] >= 1)
    np.testing.assert_array_equal(info["success"], np.argmax(np.asarray(model(out)), 1) != y)
    if clip == (-1.0, 2.0):  # nothing to clip: the whole budget is used
        moved = ~info["success"] | (info["queries"] > 2)
        np.testing.assert_allclose(_l2(out, x)[moved], eps, rtol=1e-4)


def test_l2_beats_random_noise_of_the_same_norm(digits_model, accuracy):
    model, x, y, _ = digits_model
    x, y = x[:60], y[:60]
    eps = 1.0
    out, info = square(model, x, y, eps=eps, norm="l2", queries=200, seed=0, return_info=True)
    noise = np.random.default_rng(0).normal(size=x.shape)
    noisy = np.clip(x + eps * noise / np.sqrt(np.sum(noise ** 2, axis=(1, 2, 3), keepdims=True)), 0, 1)
    attacked, random = accuracy(model, out, y), accuracy(model, noisy.astype(np.float32), y)
    assert attacked <= 0.5 and attacked <= random - 0.4
    assert np.all(info["queries"] <= 200)


def test_l2_seeded_runs_repeat_and_eps_zero_changes_nothing(digits_model):
    model, x, y, _ = digits_model
    x, y = x[:20], y[:20]
    a = square(model, x, y, eps=0.8, norm="l2", queries=40, seed=5)
    np.testing.assert_array_equal(a, square(model, x, y, eps=0.8, norm=2, queries=40, seed=5))
    assert not np.array_equal(a, square(model, x, y, eps=0.8, norm="l2", queries=40, seed=6))
    np.testing.assert_array_equal(square(model, x, y, eps=0.0, norm="l2", queries=20, seed=0), x)


def test_l2_attacks_a_tflite_file_through_litert(digits_model, tmp_path):
    from tfdefend.export import TFLiteScores, export_tflite

    model, x, y, _ = digits_model
    x, y = x[:12], y[:12]
    scores = TFLiteScores(export_tflite(model, str(tmp_path / "digits.tflite")))
    out, info = square(scores, x, y, eps=1.5, norm="l2", queries=40, seed=0, return_info=True)
    assert np.all(_l2(out, x) <= 1.5 + 1e-5) and out.min() >= 0.0 and out.max() <= 1.0
    assert np.all(info["queries"] <= 40) and scores.calls <= info["queries"].sum() + len(x)
    assert np.mean(scores(out).argmax(1) == y) <= 0.5
    with pytest.raises(ValueError, match="`x`"):  # images of another size are refused by name
        square(scores, np.zeros((2, 9, 9, 1), np.float32), eps=1.0, norm="l2", queries=3)
