"""Tests of `tfdefend.attacks.apgd` (Auto-PGD, CE / DLR / APGD-T) and its losses."""

import numpy as np
import pytest
import tensorflow as tf

from tfdefend.attacks import _core, apgd, pgd
from tfdefend.attacks._margin_losses import dlr, targeted_dlr
from tfdefend.attacks.apgd import checkpoint_intervals

EPS = 0.12  # digits: PGD-100 leaves ~25-40% here, so the comparison with APGD is not at 0


def _l2(a, b):
    return np.sqrt(np.sum((a.astype(np.float64) - b.astype(np.float64)) ** 2, axis=(1, 2, 3)))


def test_checkpoint_schedule_of_the_paper():
    # p = 0, 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99: intervals 22, 19, 16, 13, 10, 7, 6, 6.
    assert checkpoint_intervals(100) == (22, 3, 6)
    assert checkpoint_intervals(5) == (1, 1, 1)


def test_dlr_is_invariant_to_shift_and_positive_scale():
    logits = tf.constant(np.random.default_rng(0).normal(size=(16, 10)).astype("float32"))
    y = tf.constant(np.arange(16) % 10, tf.int32)
    t = (y + 3) % 10
    for scale, shift in ((1000.0, 0.0), (0.01, 5.0), (7.0, -30.0)):
        np.testing.assert_allclose(dlr(scale * logits + shift, y), dlr(logits, y), rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(targeted_dlr(scale * logits + shift, y, t), targeted_dlr(logits, y, t),
                                   rtol=1e-3, atol=1e-4)


def test_dlr_is_positive_exactly_when_misclassified():
    logits = tf.constant([[3.0, 1.0, 0.0, -1.0], [1.0, 3.0, 0.0, -1.0]])
    y = tf.constant([0, 0])
    values = dlr(logits, y).numpy()
    assert values[0] < 0 < values[1]


def test_apgd_lowers_accuracy_at_least_as_much_as_pgd(digits_model, accuracy):
    model, x, y, _ = digits_model
    x, y = x[:120], y[:120]
    x_pgd = pgd(model, x, y, eps=EPS, step_size=EPS / 4, steps=30, random_start=True, seed=0)
    x_apgd, fooled = apgd(model, x, y, eps=EPS, steps=30, seed=0, return_fooled=True)
    acc_pgd, acc_apgd = accuracy(model, x_pgd, y), accuracy(model, x_apgd, y)
    assert acc_pgd > 0.05  # the comparison is not at the floor
    assert acc_apgd <= acc_pgd + 1e-9
    assert np.max(np.abs(x_apgd - x)) <= EPS + 1e-6 and x_apgd.min() >= 0.0 and x_apgd.max() <= 1.0
    np.testing.assert_array_equal(fooled, np.argmax(np.asarray(model(x_apgd)), 1) != y)


@pytest.mark.parametrize("loss", ["ce", "dlr"])
def test_l2_respects_the_budget_and_fools(digits_model, accuracy, loss):
    model, x, y, _ = digits_model
    x, y = x[:60], y[:60]
    out = apgd(model, x, y, eps=1.5, norm="l2", loss=loss, steps=20, seed=1)
    assert np.all(_l2(out, x) <= 1.5 + 1e-5)
    assert accuracy(model, out, y) < 0.5


def test_dlr_breaks_a_saturated_softmax_that_cross_entropy_cannot(digits_model, accuracy):
    """Logits x1000 (defensive distillation's signature): CE's gradient underflows to 0, DLR's does not."""
    model, x, y, _ = digits_model
    x, y = x[:60], y[:60]
    saturated = lambda t: 1000.0 * model(t)  # noqa: E731 - a plain callable returning logits
    ce = apgd(saturated, x, y, eps=EPS, loss="ce", steps=20, seed=0)
    with_dlr = apgd(saturated, x, y, eps=EPS, loss="dlr", steps=20, seed=0)
    plain = apgd(model, x, y, eps=EPS, loss="dlr", steps=20, seed=0)
    # (argmax of 1000 z is argmax of z: the accuracies are those of `model`)
    assert accuracy(model, with_dlr, y) <= accuracy(model, ce, y) - 0.2
    assert abs(accuracy(model, with_dlr, y) - accuracy(model, plain, y)) <= 0.05


def test_targeted_apgd_over_the_top_classes_and_restarts_only_help(digits_model, accuracy):
    model, x, y, _ = digits_model
    x, y = x[:60], y[:60]
    one = apgd(model, x, y, eps=0.1, loss="dlr", targeted=True, target_classes=1, steps=15, seed=0)
    three = apgd(model, x, y, eps=0.1, loss="dlr", targeted=True, target_classes=3, steps=15, seed=0)
    assert accuracy(model, three, y) <= accuracy(model, one, y)
    r1 = apgd(model, x, y, eps=0.1, steps=15, seed=4)
    r3 = apgd(model, x, y, eps=0.1, steps=15, restarts=3, seed=4)
    assert accuracy(model, r3, y) <= accuracy(model, r1, y)
    assert np.max(np.abs(three - x)) <= 0.1 + 1e-6


def test_seeded_runs_repeat_and_eps_zero_returns_x(digits_model):
    model, x, y, _ = digits_model
    a = apgd(model, x[:20], y[:20], eps=0.1, steps=5, seed=3)
    b = apgd(model, x[:20], y[:20], eps=0.1, steps=5, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(apgd(model, x[:20], y[:20], eps=0.0, steps=5), x[:20])
    t = apgd(model, tf.constant(x[:4]), eps=0.1, steps=2, seed=0)
    assert isinstance(t, tf.Tensor) and t.shape == (4, 8, 8, 1)


def test_traced_once_per_option_set_whatever_the_steps_and_batch(digits_model):
    model, x, y, _ = digits_model
    fresh = lambda t: model(t)  # noqa: E731 - a callable no other test has compiled for
    for n, steps in ((30, 5), (30, 9), (17, 5), (9, 12), (5, 3)):
        apgd(fresh, x[:n], y[:n], eps=0.05, steps=steps, seed=0)
    assert _core.tracing_counts(fresh)[("apgd", ("inf", "ce", False))] <= 2


@pytest.mark.parametrize("kwargs,error,word", [
    ({"loss": "hinge"}, ValueError, "`loss`"),
    ({"targeted": True, "loss": "ce"}, ValueError, "loss='dlr'"),
    ({"restarts": 0}, ValueError, "`restarts`"),
    ({"steps": 0}, ValueError, "`steps`"),
    ({"targeted": True, "loss": "dlr", "target_classes": 10}, ValueError, "`target_classes`"),
    ({"norm": "l1"}, ValueError, "norm"),
    ({"eps": -0.1}, ValueError, "`eps`"),
    ({"seed": 1.5}, TypeError, "`seed`"),
])
def test_bad_arguments(tiny_model, rand_images, kwargs, error, word):
    with pytest.raises(error, match=word):
        apgd(tiny_model, rand_images, **{"eps": 0.1, "steps": 2, **kwargs})


def test_dlr_needs_three_classes(rand_images):
    two = lambda t: tf.reshape(t, [tf.shape(t)[0], -1])[:, :2]  # noqa: E731
    with pytest.raises(ValueError, match="at least 3 classes"):
        apgd(two, rand_images, eps=0.1, loss="dlr", steps=2)
