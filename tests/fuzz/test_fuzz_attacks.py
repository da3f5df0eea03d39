"""Fuzzing the attacks: a correct adversarial batch or a clear ValueError/TypeError, nothing else."""

import math

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.fuzz.attack_cases import AUTOATTACK_CASES, CASES, X2, run
from tests.fuzz.strategies import (
    FUZZ,
    assert_adversarial,
    assert_clear_error,
    image_batches,
    images_ok,
    labels_for,
    labels_ok,
)
from tfdefend import attacks

GRADIENT_ATTACKS = {  # name -> (call, eps, norm)
    "fgsm": (lambda m, x, y, t: attacks.fgsm(m, x, y, eps=0.1, targeted=t), 0.1, "inf"),
    "fgsm_l2": (lambda m, x, y, t: attacks.fgsm(m, x, y, eps=0.5, norm="l2", targeted=t), 0.5, "l2"),
    "bim": (lambda m, x, y, t: attacks.bim(m, x, y, eps=0.1, steps=2, targeted=t), 0.1, "inf"),
    "pgd": (
        lambda m, x, y, t: attacks.pgd(
            m, x, y, eps=0.1, step_size=0.05, steps=2, random_start=True, seed=0, targeted=t
        ),
        0.1,
        "inf",
    ),
    "mifgsm": (lambda m, x, y, t: attacks.mifgsm(m, x, y, eps=0.1, steps=2, targeted=t), 0.1, "inf"),
    "apgd": (lambda m, x, y, t: attacks.apgd(m, x, y, eps=0.1, steps=2, seed=0), 0.1, "inf"),
    "apgd_l2": (lambda m, x, y, t: attacks.apgd(m, x, y, eps=0.5, norm="l2", steps=2, seed=0), 0.5, "l2"),
    "fab": (lambda m, x, y, t: attacks.fab(m, x, y, eps=0.1, steps=2, target_classes=2), 0.1, "inf"),
}
OTHER_ATTACKS = {  # name -> (call, eps or None, norm)
    "deepfool": (lambda m, x: attacks.deepfool(m, x, steps=2, num_candidates=2), None, "l2"),
    "carlini_wagner_l2": (
        lambda m, x: attacks.carlini_wagner_l2(m, x, steps=2, binary_search_steps=1),
        None,
        "l2",
    ),
    "jsma": (lambda m, x: attacks.jsma(m, x, gamma=0.05, seed=0), None, "inf"),
    "auto_adversary": (lambda m, x: attacks.auto_adversary(m, x, eps=0.1, steps=1, mask_steps=2), 0.1, "inf"),
    "l1_penalized_pgd": (lambda m, x: attacks.l1_penalized_pgd(m, x, eps=0.1, steps=2), 0.1, "inf"),
    "square": (lambda m, x: attacks.square(m, x, eps=0.1, queries=4, seed=0), 0.1, "inf"),
    "square_l2": (lambda m, x: attacks.square(m, x, eps=0.5, norm="l2", queries=4, seed=0), 0.5, "l2"),
    "auto_attack": (
        lambda m, x: attacks.auto_attack(m, x, eps=0.1, steps=1, queries=3, seed=0)[0],
        0.1,
        "inf",
    ),
}
LABELLED_ATTACKS = {  # the AutoAttack family with labels: name -> (call(model, x, y, targeted), eps, norm)
    "apgd": (lambda m, x, y, t: attacks.apgd(m, x, y, eps=0.1, steps=2, seed=0), 0.1, "inf"),
    "fab": (lambda m, x, y, t: attacks.fab(m, x, y, eps=0.1, steps=2, target_classes=2), 0.1, "inf"),
    "square": (
        lambda m, x, y, t: attacks.square(m, x, y, eps=0.1, queries=4, seed=0, targeted=t),
        0.1,
        "inf",
    ),
    "square_l2": (
        lambda m, x, y, t: attacks.square(m, x, y, eps=0.5, norm="l2", queries=4, seed=0, targeted=t),
        0.5,
        "l2",
    ),
    "auto_attack": (
        lambda m, x, y, t: attacks.auto_attack(m, x, y, eps=0.1, steps=1, queries=3)[0],
        0.1,
        "inf",
    ),
}
Y2 = np.array([3, 7])


def _maybe_tensor(x, as_tensor):
    if as_tensor and isinstance(x, np.ndarray) and x.dtype.kind in "iufb":
        return tf.constant(x)
    return x


# Valid batches always hold 2 images: a new batch size would trace every attack graph again.
@settings(FUZZ, max_examples=60)
@given(
    name=st.sampled_from(sorted(GRADIENT_ATTACKS)), x=image_batches(batch_sizes=(2,)), as_tensor=st.booleans()
)
def test_gradient_attacks_on_fuzzed_images(fuzz_model, name, x, as_tensor):
    call, eps, norm = GRADIENT_ATTACKS[name]
    try:
        out = call(fuzz_model, _maybe_tensor(x, as_tensor), None, False)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions
        event("clear error")
        assert not images_ok(x), f"valid images refused: {exc!r}"
        assert_clear_error(exc, "x")
        return
    event("result")
    assert images_ok(x), "invalid images accepted"
    assert isinstance(out, tf.Tensor) == (as_tensor and isinstance(x, np.ndarray))
    assert_adversarial(out, x.astype(np.float32), eps=eps, norm=norm)


@settings(FUZZ, max_examples=30)
@given(name=st.sampled_from(["fgsm", "pgd"]), y=st.one_of(st.none(), labels_for(2)), targeted=st.booleans())
def test_gradient_attacks_on_fuzzed_labels(fuzz_model, name, y, targeted):
    _check_on_labels(fuzz_model, *GRADIENT_ATTACKS[name], y, targeted)


def _check_on_labels(model, call, eps, norm, y, targeted):
    """Valid labels give an adversarial batch inside the budget; invalid ones a clear error naming `y`."""
    ok = labels_ok(y, 2) or (y is None and not targeted)
    try:
        out = call(model, X2, y, targeted)
    except Exception as exc:  # noqa: BLE001
        event("clear error")
        assert not ok, f"valid labels refused: {exc!r}"
        assert_clear_error(exc, "y")
        return
    event("result")
    assert ok, f"invalid labels accepted: {y!r}"
    assert_adversarial(out, X2, eps=eps, norm=norm)


@settings(FUZZ, max_examples=40)
@given(
    name=st.sampled_from(sorted(LABELLED_ATTACKS)),
    y=st.one_of(st.none(), labels_for(2)),
    targeted=st.booleans(),
)
def test_autoattack_family_on_fuzzed_labels(fuzz_model, name, y, targeted):
    targeted = targeted and name.startswith("square")  # only Square takes target classes as `y`
    _check_on_labels(fuzz_model, *LABELLED_ATTACKS[name], y, targeted)


@settings(FUZZ, max_examples=40)
@given(name=st.sampled_from(sorted(OTHER_ATTACKS)), x=image_batches(batch_sizes=(2,)))
def test_other_attacks_on_fuzzed_images(fuzz_model, name, x):
    call, eps, norm = OTHER_ATTACKS[name]
    try:
        out = call(fuzz_model, x)
    except Exception as exc:  # noqa: BLE001
        event("clear error")
        assert not images_ok(x), f"valid images refused: {exc!r}"
        assert_clear_error(exc, "x")
        return
    event("result")
    assert images_ok(x), "invalid images accepted"
    assert_adversarial(out, x.astype(np.float32), eps=eps, norm=norm)


# --------------------------------------------------------------------------- one bad argument at a time


@settings(FUZZ, max_examples=50)
@given(case=st.sampled_from(CASES).flatmap(lambda c: st.tuples(st.just(c), c[2])))
def test_one_bad_hyperparameter_at_a_time(fuzz_model, case):
    _check_case(fuzz_model, case)


@settings(FUZZ, max_examples=100)
@given(case=st.sampled_from(AUTOATTACK_CASES).flatmap(lambda c: st.tuples(st.just(c), c[2])))
def test_autoattack_family_one_bad_argument_at_a_time(fuzz_model, case):
    """APGD, FAB, Square (L-inf and L2) and the AutoAttack ensemble."""
    _check_case(fuzz_model, case)


def _check_case(fuzz_model, case):
    (attack, argument, _, valid), value = case
    ok = valid(value)
    try:
        out, eps, norm, clip = run(fuzz_model, attack, argument, value)
    except Exception as exc:  # noqa: BLE001
        event("clear error")
        assert not ok, f"{attack}({argument}={value!r}) refused: {exc!r}"
        assert_clear_error(exc, argument)
        return
    event("result")
    assert ok, f"{attack} accepted {argument}={value!r}"
    assert_adversarial(
        out,
        X2,
        eps=None if eps is None else float(eps),
        norm=norm,
        clip=None if clip == (-math.inf, math.inf) else clip,
    )


def test_attack_of_a_model_that_is_not_a_classifier():
    """A preprocessor passed as `model` (image output, no logits) is refused by name, not by a TF crash."""
    identity = lambda z: z
    for call in (
        lambda: attacks.fgsm(identity, X2, eps=0.1),
        lambda: attacks.fgsm(identity, X2, Y2, eps=0.1),
        lambda: attacks.deepfool(identity, X2, steps=1),
    ):
        with pytest.raises(ValueError, match="`model` must return logits"):
            call()
