"""Fuzzing the evaluation entry points: a well-formed result or a clear ValueError/TypeError."""

import math
import numbers

import numpy as np
import tensorflow as tf
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.fuzz.strategies import (
    ANY_VALUE,
    FUZZ,
    NUM_CLASSES,
    assert_clear_error,
    counts,
    image_batches,
    images_ok,
    is_count,
    labels_for,
    labels_ok,
    real_ok,
    reals,
)
from tfdefend import attacks, evaluation

X2 = np.random.default_rng(1).uniform(0, 1, (2, 8, 8, 1)).astype(np.float32)
Y2 = np.array([1, 4])
BATCH_SIZES = st.one_of(st.integers(1, 3), st.integers(1, 3), st.sampled_from([0, -1, 2.0, None, "2", 2**40]))
IMAGE_NAMES = ("x", "x_adv", "data", "images")


def _batch_size_of(x):
    return x.shape[0] if isinstance(x, np.ndarray) and x.ndim else 2


def _draw_labels(data, x):
    return data.draw(labels_for(_batch_size_of(x)), label="y")


@settings(FUZZ, max_examples=40)
@given(
    data=st.data(),
    metric=st.sampled_from(["predict_labels", "accuracy", "attack_success_rate"]),
    x=image_batches(batch_sizes=(1, 2, 3)),
    batch_size=BATCH_SIZES,
)
def test_metrics_on_fuzzed_inputs(fuzz_model, data, metric, x, batch_size):
    y = _draw_labels(data, x)
    x_ok = images_ok(x, clip=None)
    n = x.shape[0] if x_ok else 0
    y_ok = metric == "predict_labels" or labels_ok(y, n)
    bs_ok = is_count(batch_size)
    try:
        if metric == "predict_labels":
            out = evaluation.predict_labels(fuzz_model, x, batch_size=batch_size)
        elif metric == "accuracy":
            out = evaluation.accuracy(fuzz_model, x, y, batch_size=batch_size)
        else:
            out = evaluation.attack_success_rate(
                fuzz_model, x, y, x_clean=X2[:1].repeat(n, 0) if n else X2, batch_size=batch_size
            )
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions
        event("clear error")
        assert not (x_ok and y_ok and bs_ok), f"valid input refused: {exc!r}"
        names = (
            (IMAGE_NAMES if not x_ok else ())
            + (("y", "labels") if not y_ok else ())
            + (("batch_size",) if not bs_ok else ())
        )
        assert_clear_error(exc, *names)
        return
    event("result")
    assert x_ok and y_ok and bs_ok, "invalid input accepted"
    if metric == "predict_labels":
        assert out.dtype == np.int32 and out.shape == (n,) and out.min() >= 0 and out.max() < NUM_CLASSES
    else:
        assert isinstance(out, float) and (0.0 <= out <= 1.0 or math.isnan(out))


_ARRAYS = st.one_of(
    image_batches(batch_sizes=(1, 2)),
    hnp.arrays(st.sampled_from([np.float32, np.int16]), hnp.array_shapes(min_dims=1, max_dims=3, max_side=3)),
)


@settings(FUZZ, max_examples=40)
@given(x=_ARRAYS, x_adv=_ARRAYS, per_pixel=st.booleans())
def test_perturbation_norms_on_fuzzed_arrays(x, x_adv, per_pixel):
    def ok(a):
        return (
            isinstance(a, np.ndarray)
            and a.dtype.kind in "iuf"
            and a.ndim >= 1
            and a.shape[0] > 0
            and np.all(np.isfinite(a.astype(np.float64)))
        )

    try:
        norms = evaluation.perturbation_norms(x, x_adv, per_pixel=per_pixel)
    except Exception as exc:  # noqa: BLE001
        event("clear error")
        assert not (ok(x) and ok(x_adv) and x.shape == x_adv.shape), f"valid arrays refused: {exc!r}"
        assert_clear_error(exc, "x", "x_adv")
        return
    event("result")
    assert ok(x) and ok(x_adv) and x.shape == x_adv.shape
    for key in ("l0", "l1", "l2", "linf"):
        assert norms[key].shape == (x.shape[0],) and np.all(np.isfinite(norms[key])) and norms[key].min() >= 0


def _nan_attack(model, x, y):
    return np.full(np.shape(x), np.nan, np.float32)


def _shrinking_attack(model, x, y):
    return np.asarray(x)[:, :4]


FAKE_ATTACKS = {
    "identity": (lambda model, x, y: x, True),
    "fgsm": (lambda model, x, y: attacks.fgsm(model, x, y, eps=0.1), True),
    "nan": (_nan_attack, False),
    "wrong shape": (_shrinking_attack, False),
    "text": (lambda model, x, y: "adversarial", False),
}
ATTACK_SETS = st.one_of(
    st.lists(st.sampled_from(sorted(FAKE_ATTACKS)), max_size=2, unique=True).map(
        lambda names: ({n: FAKE_ATTACKS[n][0] for n in names}, all(FAKE_ATTACKS[n][1] for n in names))
    ),
    st.sampled_from(
        [({"fgsm": "not callable"}, False), ([("a", 1)], False), (3, False), ({1: _nan_attack}, False)]
    ),
)


@st.composite
def _datasets(draw):
    """`(data, valid for any finite range, valid inside [0, 1])`: arrays, tf.data datasets, or junk."""
    kind = draw(st.sampled_from(["pair", "pair", "dataset", "junk"]))
    if kind == "junk":
        return draw(st.sampled_from([None, X2, (X2,), (X2, Y2, Y2), "data", (3.0, Y2)])), False, False
    x = draw(image_batches(batch_sizes=(1, 2)))
    n = x.shape[0] if isinstance(x, np.ndarray) and x.ndim else 2
    y = draw(labels_for(n))
    ok_any, ok_unit = (images_ok(x, clip=c) and labels_ok(y, n) for c in (None, (0.0, 1.0)))
    if kind == "dataset" and ok_any:
        return (
            tf.data.Dataset.from_tensor_slices((x.astype(np.float32), np.asarray(y, np.int64))),
            ok_any,
            ok_unit,
        )
    return (x, y), ok_any, ok_unit


@settings(FUZZ, max_examples=30)
@given(
    data=_datasets(),
    attack_set=ATTACK_SETS,
    batch_size=BATCH_SIZES,
    limit=st.one_of(st.none(), st.integers(1, 3), st.sampled_from([0, -2, 1.5, "3"])),
)
def test_robustness_table_on_fuzzed_inputs(fuzz_model, data, attack_set, batch_size, limit):
    (data, ok_any, ok_unit), (attack_map, attacks_ok) = data, attack_set
    data_ok = ok_unit if isinstance(attack_map, dict) and "fgsm" in attack_map else ok_any
    args_ok = is_count(batch_size) and (limit is None or is_count(limit))
    try:
        rows = evaluation.robustness_table(fuzz_model, data, attack_map, batch_size=batch_size, limit=limit)
    except Exception as exc:  # noqa: BLE001
        event("clear error")
        assert not (data_ok and attacks_ok and args_ok), f"valid input refused: {exc!r}"
        assert_clear_error(exc, "data", "x", "y", "attack", "batch_size", "limit")
        return
    event("result")
    assert data_ok and attacks_ok and args_ok, "invalid input accepted"
    assert rows[0]["attack"] == "clean" and len(rows) == 1 + len(attack_map)
    for row in rows:
        assert 0.0 <= row["accuracy"] <= 1.0 and row["n"] >= 1


@settings(FUZZ, max_examples=30)
@given(
    defenses=st.sampled_from(
        [
            ({"blur": lambda z: z}, True),
            ({"none": lambda z: z}, False),
            ({"bad": 3}, False),
            ([("blur", abs)], False),
            ({}, True),
        ]
    ),
    modes=st.sampled_from(
        [
            (("oblivious",), True),
            (("gray_box", "adaptive"), True),
            ("oblivious", False),
            (("bogus",), False),
            ([np.array([1, 2])], False),
            (3, False),
        ]
    ),
    eot_samples=counts(1, 2),
    approximations=st.sampled_from([(None, True), ({}, True), ("identity", False)]),
)
def test_defense_table_on_fuzzed_arguments(fuzz_model, defenses, modes, eot_samples, approximations):
    (defenses, defenses_ok), (modes, modes_ok), (approximations, approx_ok) = defenses, modes, approximations
    ok = defenses_ok and modes_ok and approx_ok and is_count(eot_samples)
    try:
        rows = evaluation.defense_table(
            fuzz_model,
            defenses,
            (X2, Y2),
            {"identity": lambda m, x, y: x},
            modes=modes,
            eot_samples=eot_samples,
            approximations=approximations,
        )
    except Exception as exc:  # noqa: BLE001
        event("clear error")
        assert not ok, f"valid arguments refused: {exc!r}"
        assert_clear_error(exc, "defenses", "none", "modes", "eot_samples", "approximations")
        return
    event("result")
    assert ok, "invalid arguments accepted"
    assert all(0.0 <= row["accuracy"] <= 1.0 for row in rows)


EPS_LISTS = st.one_of(
    st.lists(reals(0, 1.2), max_size=3), st.sampled_from([0.1, "0.1", None, (0.1, 0.2), []])
)


@settings(FUZZ, max_examples=40)
@given(
    eps_values=EPS_LISTS,
    pgd_steps=counts(1, 5),
    step_ratio=reals(0, 3),
    include=st.one_of(
        st.lists(st.sampled_from(["fgsm", "bim", "pgd", "mifgsm", "cw"]), max_size=3),
        st.sampled_from(["fgsm", None, [1], ("pgd",)]),
    ),
)
def test_attack_suite_on_fuzzed_arguments(eps_values, pgd_steps, step_ratio, include):
    def budget(v):
        return (
            not isinstance(v, bool)
            and isinstance(v, (int, float, np.integer, np.floating, np.ndarray))
            and np.ndim(v) == 0
            and math.isfinite(float(v))
            and 0 <= float(v) <= 1
        )

    ok = (
        isinstance(eps_values, (list, tuple))
        and all(budget(v) for v in eps_values)
        and is_count(pgd_steps)
        and isinstance(step_ratio, numbers.Real)
        and real_ok(step_ratio, lo=0, zero=False)
        and isinstance(include, (list, tuple))
        and all(n in ("fgsm", "bim", "pgd", "mifgsm") for n in include)
    )
    try:
        suite = evaluation.attack_suite(
            eps_values, pgd_steps=pgd_steps, step_ratio=step_ratio, include=include
        )
    except Exception as exc:  # noqa: BLE001
        event("clear error")
        assert not ok, f"valid arguments refused: {exc!r}"
        assert_clear_error(exc, "eps_values", "pgd_steps", "step_ratio", "include")
        return
    event("result")
    assert ok, "invalid arguments accepted"
    assert len(suite) == len(eps_values) * len(set(include)) or len(suite) <= len(eps_values) * len(include)
    for fn in suite.values():
        assert callable(fn) and fn.family in include and 0 <= fn.eps <= 1


@settings(FUZZ, max_examples=15)
@given(data=st.data(), x=image_batches(batch_sizes=(2,)), steps=counts(1, 2), overshoot=reals(0, 0.1))
def test_rho2_on_fuzzed_inputs(fuzz_model, data, x, steps, overshoot):
    y = _draw_labels(data, x)
    ok_x, ok_y = images_ok(x, clip=None), labels_ok(y, _batch_size_of(x))
    ok_args = is_count(steps) and real_ok(overshoot, lo=0)
    try:
        value = evaluation.rho2(
            fuzz_model, x, y, steps=steps, overshoot=overshoot, num_candidates=2, correct_only=False
        )
    except Exception as exc:  # noqa: BLE001
        event("clear error")
        assert not (ok_x and ok_y and ok_args), f"valid input refused: {exc!r}"
        assert_clear_error(exc, "x", "y", "data", "steps", "overshoot")
        return
    event("result")
    assert ok_x and ok_y and ok_args, "invalid input accepted"
    assert isinstance(value, float) and (value >= 0 or math.isnan(value))


@settings(FUZZ, max_examples=15)
@given(
    target=st.one_of(st.floats(0.01, 0.99), reals(0, 1.2)),
    lo=st.one_of(st.just(0.0), reals(0, 0.3)),
    hi=st.one_of(st.floats(0.3, 1.0), reals(0, 1.2)),
    tol=st.one_of(st.just(0.05), reals(0, 0.2)),
    max_iter=st.one_of(counts(1, 3), ANY_VALUE),
)
def test_fgsm_eps_ref_on_fuzzed_arguments(fuzz_model, target, lo, hi, tol, max_iter):
    y = evaluation.predict_labels(fuzz_model, X2)  # clean accuracy 1: the bisection has work to do
    try:
        eps = evaluation.fgsm_eps_ref(
            fuzz_model, X2, y, target_accuracy=target, lo=lo, hi=hi, tol=tol, max_iter=max_iter
        )
    except Exception as exc:  # noqa: BLE001
        event("clear error")
        assert_clear_error(exc, "target_accuracy", "lo", "hi", "tol", "max_iter", "FGSM accuracy")
        return
    event("result")
    assert isinstance(eps, float) and float(lo) <= eps <= float(hi)
