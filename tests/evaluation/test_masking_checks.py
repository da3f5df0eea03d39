"""Tests of `tfdefend.evaluation.masking_checks` (gradient-masking sanity checks)."""


import numpy as np
import pytest
import tensorflow as tf

from tfdefend.attacks import bpda
from tfdefend.evaluation import masking_checks
from tfdefend.evaluation._masking_helpers import compare, sign_test
from tfdefend.evaluation.masking_checks import CHECKS

FAST = {"steps": 20, "square_queries": 100, "batch_size": 64}


def _by_name(report):
    return {c["name"]: c for c in report["checks"]}


def _quantize(x):
    """3-bit quantization with no gradient at all (like JPEG's stop_gradient)."""
    return tf.stop_gradient(tf.round(tf.convert_to_tensor(x, tf.float32) * 7.0) / 7.0)


class _Counting:
    """A logits callable that refuses empty batches and counts its calls."""

    def __init__(self, model, scale=1.0):
        self.model, self.scale, self.calls = model, scale, 0

    def __call__(self, x):
        x = tf.convert_to_tensor(x, tf.float32)
        if x.shape[0] == 0:
            raise AssertionError("model called on an empty batch")
        self.calls += 1
        return self.model(x, training=False) * self.scale


def _pair(only_a, only_b, both_robust, n):
    """Robust masks of attacks A and B over n images: `only_a` broken only by A, `only_b` only by B."""
    robust_a = np.zeros(n, bool)
    robust_b = np.zeros(n, bool)
    robust_b[:only_a] = True
    robust_a[only_a:only_a + only_b] = True
    robust_a[only_a + only_b:only_a + only_b + both_robust] = True
    robust_b[only_a + only_b:only_a + only_b + both_robust] = True
    return robust_a, robust_b


@pytest.mark.parametrize("only_a,only_b,n,flagged", [
    (3, 0, 100, False),  # 3 > margin 2, but p = 1/8: could be luck
    (5, 0, 100, True),  # p = 1/32
    (20, 16, 100, False),  # 4 more, but the discordant images split almost evenly
    (40, 10, 100, True),
    (10, 0, 1000, False),  # margin is 1% of n = 10 images
    (11, 0, 1000, True),
    (0, 30, 100, False),  # B is the stronger attack: never a flag
])
def test_clearly_fewer_needs_margin_and_sign_test(only_a, only_b, n, flagged):
    robust_a, robust_b = _pair(only_a, only_b, 7, n)
    got, values = compare(robust_a, robust_b, n, "a", "b")
    assert got is flagged
    assert values["only_a_broke"] == only_a and values["only_b_broke"] == only_b
    assert values["b_robust"] - values["a_robust"] == only_a - only_b
    assert values["margin_images"] == max(2, -(-n // 100))


def test_sign_test_is_the_binomial_tail():
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 0) == pytest.approx(1 / 32)
    assert sign_test(2, 2) == pytest.approx(11 / 16)  # P[X >= 2], X ~ Bin(4, 1/2)


def test_report_layout_and_not_applicable_checks(digits_model):
    model, x, y, _ = digits_model
    report = masking_checks(model, x[:32], y[:32], eps=0.05, **FAST)
    assert set(report) >= {"n", "eps", "norm", "white_box_robust_accuracy", "checks", "warnings"}
    assert report["n"] == 32 and report["eps"] == 0.05 and report["norm"] == "inf"
    assert [c["name"] for c in report["checks"]] == list(CHECKS)
    checks = _by_name(report)
    for check in report["checks"]:
        assert set(check) == {"name", "flagged", "ran", "detail", "values"}
        assert isinstance(check["flagged"], bool) and isinstance(check["detail"], str) and check["detail"]
    # no surrogate, no stand-in: those checks do not apply and never flag
    transfer = checks["transfer_beats_white_box"]
    assert transfer["ran"] is False and not transfer["flagged"]
    assert "transfer_from" in transfer["detail"]
    assert checks["bpda_beats_plain_gradient"]["ran"] is False
    assert report["warnings"] == [c["detail"] for c in report["checks"] if c["flagged"]]


def test_plain_classifier_is_quiet_on_every_check(digits_model):
    """No masking: every check runs (transfer from the model itself, a stand-in with the same gradient)."""
    model, x, y, _ = digits_model
    same = lambda images: model(images, training=False)  # noqa: E731 - another object, the same gradient
    report = masking_checks(model, x[:96], y[:96], eps=0.08, attack_model=same, transfer_from=same, seed=1,
                            steps=40, square_queries=200, batch_size=96)
    assert 0.1 < report["white_box_robust_accuracy"] < 0.9  # partly robust: the comparisons mean something
    assert all(c["ran"] for c in report["checks"])
    assert report["warnings"] == [], report["warnings"]
    assert _by_name(report)["large_eps_not_zero"]["values"]["robust"] <= 2


def test_stop_gradient_preprocessing_is_flagged(digits_model):
    model, x, y, _ = digits_model
    deployed = lambda images: model(_quantize(images), training=False)  # noqa: E731
    stand_in = bpda(preprocessor=_quantize, classifier=model)
    report = masking_checks(deployed, x[:64], y[:64], eps=0.2, attack_model=stand_in, **FAST)
    plain = _by_name(report)["bpda_beats_plain_gradient"]
    assert plain["ran"] and plain["flagged"], plain["detail"]
    v = plain["values"]
    assert v["plain_gradient_robust"] - v["white_box_robust"] > v["margin_images"]
    assert v["only_white_box_broke"] > v["only_plain_gradient_broke"] and v["p_value"] < 0.05
    assert plain["detail"] in report["warnings"]
    # BPDA itself works: the other checks see a converged white-box attack (and the weaker Square run,
    # which leaves more robust images, is not mistaken for a stronger one)
    checks = _by_name(report)
    assert not checks["large_eps_not_zero"]["flagged"] and not checks["more_steps_help"]["flagged"]
    assert checks["black_box_beats_white_box"]["values"]["square_robust"] >= v["white_box_robust"]
    assert not checks["black_box_beats_white_box"]["flagged"]


def test_saturated_softmax_is_flagged_by_the_black_box_attack(digits_model):
    """Logits x 1000 (distillation at T=1000): the CE gradient underflows to 0, Square only needs scores."""
    model, x, y, _ = digits_model
    saturated = _Counting(model, scale=1000.0)
    report = masking_checks(saturated, x[:64], y[:64], eps=0.2, **FAST)
    black = _by_name(report)["black_box_beats_white_box"]
    assert black["flagged"], black["detail"]
    assert black["values"]["square_robust"] < black["values"]["white_box_robust"]
    assert any("masked" in w for w in report["warnings"])
    # the same classifier unscaled: APGD-CE works, nothing to flag
    quiet = _by_name(masking_checks(model, x[:64], y[:64], eps=0.2, **FAST))["black_box_beats_white_box"]
    assert quiet["ran"] and not quiet["flagged"], quiet["detail"]


def test_given_white_box_result_is_used_instead_of_attacking(digits_model):
    model, x, y, _ = digits_model
    # A (false) white-box evaluation claiming every image robust: the black-box attack exposes it.
    report = masking_checks(model, x[:64], y[:64], eps=0.2, white_box_robust=np.ones(64, bool), **FAST)
    assert report["white_box_robust_accuracy"] == 1.0
    assert _by_name(report)["black_box_beats_white_box"]["flagged"]
    assert "given white-box" in _by_name(report)["black_box_beats_white_box"]["detail"]


def test_no_correct_image_runs_no_attack_and_never_an_empty_batch(digits_model):
    model, x, y, _ = digits_model
    counting = _Counting(model)
    wrong = (y[:16] + 1) % 10
    report = masking_checks(counting, x[:16], wrong, eps=0.1, transfer_from=counting, **FAST)
    assert report["clean_accuracy"] == 0.0 and report["white_box_robust_accuracy"] == 0.0
    assert report["warnings"] == []
    assert counting.calls == 1  # the clean predictions only


def test_l2_budget_and_its_default_large_eps(digits_model):
    model, x, y, _ = digits_model
    report = masking_checks(model, x[:16], y[:16], eps=0.5, norm="l2", **FAST)
    checks = _by_name(report)
    assert report["norm"] == "l2"
    # the default large L2 budget reaches mid-gray from anywhere: 0.5 * sqrt(8 * 8 * 1)
    assert checks["large_eps_not_zero"]["values"]["large_eps"] == pytest.approx(0.5 * 8.0)
    square_check = checks["black_box_beats_white_box"]
    assert square_check["ran"] and "Square" in square_check["detail"]
    assert not report["warnings"], report["warnings"]


@pytest.mark.parametrize("kwargs,error,word", [
    ({"model": "not a model"}, TypeError, "`model`"),
    ({"attack_model": 3}, TypeError, "`attack_model`"),
    ({"transfer_from": "x"}, TypeError, "`transfer_from`"),
    ({"eps": 0.0}, ValueError, "`eps`"),
    ({"eps": -0.1}, ValueError, "`eps`"),
    ({"norm": "l1"}, ValueError, "`norm`"),
    ({"clip": None}, ValueError, "`clip`"),
    ({"large_eps": 0.01}, ValueError, "`large_eps`"),
    ({"steps": 0}, ValueError, "`steps`"),
    ({"square_queries": 1.5}, TypeError, "`square_queries`"),
    ({"batch_size": 0}, ValueError, "`batch_size`"),
    ({"seed": "0"}, TypeError, "`seed`"),
    ({"x": np.zeros((0, 8, 8, 1), np.float32)}, ValueError, "`x`"),
    ({"x": np.full((8, 8, 8, 1), 2.0, np.float32)}, ValueError, "`x`"),
    ({"y": np.zeros(3, np.int32)}, ValueError, "`y`"),
    ({"white_box_robust": np.ones(7, bool)}, ValueError, "`white_box_robust`"),
    ({"white_box_robust": np.ones((8, 1), bool)}, ValueError, "`white_box_robust`"),
    ({"white_box_robust": np.full(8, 0.5)}, TypeError, "`white_box_robust`"),
])
def test_bad_arguments(tiny_model, rand_images, kwargs, error, word):
    args = {"model": tiny_model, "x": rand_images, "y": None, "eps": 0.1, **kwargs}
    with pytest.raises(error, match=word):
        masking_checks(args.pop("model"), args.pop("x"), args.pop("y"), **args)
