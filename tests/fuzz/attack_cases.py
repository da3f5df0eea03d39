"""The "one bad argument at a time" table of the attack fuzz tests.

Each case names an attack, one of its arguments, the values to try (mostly
valid, plus every kind of bad value) and the rule that says which values
are valid; `run` calls the attack with that one argument set and the others
at cheap valid defaults.
"""

import math

import numpy as np
from hypothesis import strategies as st

from tests.fuzz.strategies import ANY_VALUE, counts, is_count, is_real, reals
from tfdefend import attacks

X2 = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 1)).astype(np.float32)

NORMS = st.one_of(
    st.sampled_from(
        ["inf", "linf", "L_inf", " l2 ", "l2", 2, 2.0, np.inf, math.inf, 1, "l1", "", None, True, [2]]
    ),
    st.text(max_size=3),
)
CLIPS = st.sampled_from(
    [
        (0.0, 1.0),
        (0, 1),
        [0, 1],
        (-1.0, 2.0),
        (0.0, math.inf),
        None,
        (1.0, 0.0),
        (0.5, 0.5),
        (0.0, math.nan),
        "ab",
        (0.0,),
        (0, 1, 2),
        1.0,
        ("a", "b"),
    ]
)
NORM_NAMES = {
    "inf": "inf", "linf": "inf", "l_inf": "inf", "infinity": "inf", "l2": "l2", "l_2": "l2", "2": "l2"
}


def norm_of(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return "inf" if math.isinf(value) else ("l2" if value == 2 else None)
    return NORM_NAMES.get(value.strip().lower()) if isinstance(value, str) else None


def clip_of(value):
    try:
        lo, hi = value
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError):
        return None if value is not None else (-math.inf, math.inf)
    return (lo, hi) if lo < hi else None


def _budget_ok(value, *, norm="inf", clip=(0.0, 1.0), zero=True):
    if (
        not is_real(value)
        or not math.isfinite(float(value))
        or float(value) < 0
        or (float(value) == 0 and not zero)
    ):
        return False
    lo, hi = clip_of(clip) or (0.0, 1.0)
    return norm != "inf" or float(value) <= hi - lo


def _positive(value, *, zero=False, top=math.inf):
    return (
        is_real(value)
        and math.isfinite(float(value))
        and (float(value) >= 0 if zero else float(value) > 0)
        and float(value) <= top
    )


def _seed_ok(value, *, non_negative=False):
    if value is None:
        return True
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        return False
    return not non_negative or 0 <= value < 2**32


# (attack, argument, values, validity given the value, result's eps and norm given the value)
CASES = [
    ("fgsm", "eps", reals(0, 1.5), lambda v: _budget_ok(v)),
    ("fgsm", "norm", NORMS, lambda v: norm_of(v) is not None),
    ("fgsm", "clip", CLIPS, lambda v: clip_of(v) is not None),
    ("pgd", "eps", reals(0, 0.5), lambda v: _budget_ok(v)),
    ("pgd", "step_size", reals(0, 0.5), lambda v: _budget_ok(v)),
    ("pgd", "steps", counts(1, 3), is_count),
    ("pgd", "seed", st.one_of(st.integers(-(2**40), 2**70), ANY_VALUE), _seed_ok),
    ("pgd", "norm", NORMS, lambda v: norm_of(v) is not None),
    ("bim", "step_size", st.one_of(st.none(), reals(0, 0.5)), lambda v: v is None or _budget_ok(v)),
    ("bim", "steps", counts(1, 3), is_count),
    ("mifgsm", "decay", reals(0, 3), lambda v: _positive(v, zero=True)),
    ("deepfool", "steps", counts(1, 3), is_count),
    ("deepfool", "overshoot", reals(0, 0.1), lambda v: _positive(v, zero=True)),
    ("deepfool", "num_candidates", counts(2, 2), lambda v: is_count(v, lo=2)),
    ("carlini_wagner_l2", "confidence", reals(0, 2), lambda v: _positive(v, zero=True)),
    ("carlini_wagner_l2", "initial_const", reals(0, 10), _positive),
    ("carlini_wagner_l2", "learning_rate", reals(0, 0.1), _positive),
    ("carlini_wagner_l2", "binary_search_steps", counts(1, 2), is_count),
    ("carlini_wagner_l2", "clip", CLIPS, lambda v: clip_of(v) is not None),
    # theta > 0 only among the valid values: a negative theta compiles a second graph (seconds of tracing).
    (
        "jsma",
        "theta",
        st.one_of(reals(0.5, 1), st.sampled_from([0, 0.0, -0.0])),
        lambda v: is_real(v) and math.isfinite(float(v)) and float(v) != 0,
    ),
    ("jsma", "gamma", reals(0, 1.2), lambda v: _positive(v, top=1.0)),
    ("jsma", "seed", st.one_of(st.integers(-5, 2**40), ANY_VALUE), lambda v: _seed_ok(v, non_negative=True)),
    ("jsma", "clip", CLIPS, lambda v: clip_of(v) is not None and all(map(math.isfinite, clip_of(v)))),
    # Valid choices that compile no new graph ("bim", "unet", ... would each cost seconds of tracing).
    (
        "auto_adversary",
        "base",
        st.one_of(st.sampled_from(["pgd", "PGD ", "fgsm", "cw"]), ANY_VALUE),
        lambda v: isinstance(v, str) and v.strip().lower() in ("pgd", "bim", "mifgsm"),
    ),
    (
        "auto_adversary",
        "encoder",
        st.one_of(st.sampled_from(["auto", "dense", " Dense", "cnn"]), ANY_VALUE),
        lambda v: isinstance(v, str) and v.strip().lower() in ("auto", "dense", "unet", "none"),
    ),
    ("auto_adversary", "eps", reals(0, 1.5), lambda v: _budget_ok(v, zero=False)),
    ("auto_adversary", "lam", reals(0, 10), lambda v: _positive(v, zero=True)),
    ("auto_adversary", "alpha_growth", reals(0, 2), lambda v: _positive(v) and float(v) >= 1),
    ("auto_adversary", "mask_lr", st.one_of(st.none(), reals(0, 0.1)), lambda v: v is None or _positive(v)),
    ("l1_penalized_pgd", "l1_weight", reals(0, 1.5), lambda v: _positive(v, zero=True, top=1.0)),
    ("eot", "samples", counts(1, 2), is_count),
    (
        "eot",
        "reduce",
        st.one_of(st.sampled_from(["probabilities", "logits", "mean"]), ANY_VALUE),
        lambda v: isinstance(v, str) and v in ("probabilities", "logits"),
    ),
    (
        "bpda",
        "approximation",
        st.one_of(st.sampled_from(["identity", "IDENTITY", "jpeg", None, abs]), ANY_VALUE),
        lambda v: v is None or (isinstance(v, str) and v == "identity") or callable(v),
    ),
    ("fgsm", "model", st.sampled_from([None, "small_cnn", 3, object()]), lambda v: False),
]
# The AutoAttack family (its own test, so its cases do not thin out the ones above).
AUTOATTACK_CASES = [
    ("apgd", "eps", reals(0, 0.5), lambda v: _budget_ok(v)),
    ("apgd", "norm", NORMS, lambda v: norm_of(v) is not None),
    (
        "apgd",
        "loss",
        st.one_of(st.sampled_from(["ce", "dlr", "CE", "margin"]), ANY_VALUE),
        lambda v: isinstance(v, str) and v in ("ce", "dlr"),
    ),
    ("apgd", "steps", counts(1, 3), is_count),
    ("apgd", "restarts", counts(1, 2), is_count),
    ("apgd", "seed", st.one_of(st.integers(-(2**40), 2**70), ANY_VALUE), _seed_ok),
    ("apgd", "clip", CLIPS, lambda v: clip_of(v) is not None),
    ("fab", "eps", st.one_of(st.none(), reals(0, 0.5)), lambda v: v is None or _budget_ok(v)),
    ("fab", "norm", NORMS, lambda v: norm_of(v) is not None),
    ("fab", "steps", counts(1, 2), is_count),
    ("fab", "target_classes", counts(1, 3), lambda v: is_count(v, hi=9)),
    ("fab", "clip", CLIPS, lambda v: v is not None and clip_of(v) is not None),
    ("square", "eps", reals(0, 1.5), lambda v: _budget_ok(v)),
    ("square", "norm", NORMS, lambda v: norm_of(v) is not None),
    ("square", "queries", counts(1, 5), is_count),
    ("square", "p_init", st.one_of(st.none(), reals(0, 1.5)), lambda v: v is None or _positive(v, top=1.0)),
    ("square", "seed", st.one_of(st.integers(-(2**40), 2**70), ANY_VALUE), _seed_ok),
    ("square", "clip", CLIPS, lambda v: v is not None and clip_of(v) is not None),
    (
        "square_l2",
        "eps",
        st.one_of(reals(0, 20), st.sampled_from([1e308, 3e38])),
        lambda v: _budget_ok(v, norm="l2"),
    ),
    ("square_l2", "queries", counts(1, 6), is_count),
    (
        "square_l2",
        "p_init",
        st.one_of(st.none(), reals(0, 1.5)),
        lambda v: v is None or _positive(v, top=1.0),
    ),
    ("square_l2", "clip", CLIPS, lambda v: v is not None and clip_of(v) is not None),
    ("auto_attack", "eps", reals(0, 0.5), lambda v: _budget_ok(v)),
    ("auto_attack", "norm", NORMS, lambda v: norm_of(v) is not None),
    (
        "auto_attack",
        "version",
        st.one_of(st.sampled_from(["standard", "fast", "rand", "Fast", "plus"]), ANY_VALUE),
        lambda v: isinstance(v, str) and v in ("standard", "fast", "rand"),
    ),
    ("auto_attack", "steps", counts(1, 2), is_count),
    ("auto_attack", "queries", counts(1, 4), is_count),
    ("auto_attack", "batch_size", counts(1, 3), is_count),
    (
        "auto_attack",
        "seed",
        st.one_of(st.integers(-5, 2**40), ANY_VALUE),
        lambda v: _seed_ok(v, non_negative=True),
    ),
    ("auto_attack", "clip", CLIPS, lambda v: v is not None and clip_of(v) is not None),
]
DEFAULTS = {
    "fgsm": {"eps": 0.1},
    "pgd": {"eps": 0.1, "step_size": 0.05, "steps": 2, "random_start": True},
    "bim": {"eps": 0.1, "steps": 2},
    "mifgsm": {"eps": 0.1, "steps": 2},
    "deepfool": {"steps": 2, "num_candidates": 2},
    "carlini_wagner_l2": {"steps": 2, "binary_search_steps": 1},
    "jsma": {"gamma": 0.05},
    "auto_adversary": {"eps": 0.1, "steps": 1, "mask_steps": 2},
    "l1_penalized_pgd": {"eps": 0.1, "steps": 2},
    "apgd": {"eps": 0.1, "steps": 2, "seed": 0},
    "fab": {"steps": 2, "target_classes": 2},
    "square": {"eps": 0.1, "queries": 4, "seed": 0},
    "square_l2": {"eps": 0.5, "norm": "l2", "queries": 4, "seed": 0},
    "auto_attack": {"eps": 0.1, "steps": 1, "queries": 3, "eot_samples": 2, "seed": 0},
}
# Attacks whose result lies within `eps` of the images (in `norm`, "inf" unless given).
BOUNDED = ("fgsm", "pgd", "bim", "mifgsm", "auto_adversary", "l1_penalized_pgd", "apgd", "fab", "square",
           "square_l2", "auto_attack")


def run(model, attack, argument, value):
    if attack in ("eot", "bpda"):  # a new wrapper per example: call it eagerly (an attack would retrace)
        if attack == "eot":
            wrapped = attacks.eot(model, **{"samples": 2, argument: value})
        else:
            wrapped = attacks.bpda(preprocessor=lambda z: z, classifier=model, approximation=value)
        logits = np.asarray(wrapped(X2))
        assert logits.shape == (2, 10) and np.all(np.isfinite(logits))
        return X2, None, "inf", (0.0, 1.0)
    kwargs = {**DEFAULTS[attack]}
    if argument == "model":
        model = value
    else:
        kwargs[argument] = value
    out = getattr(attacks, "square" if attack == "square_l2" else attack)(model, X2, **kwargs)
    if attack == "auto_attack":  # (x_adv, report)
        out = out[0]
    norm = norm_of(kwargs.get("norm", "inf"))
    eps = kwargs.get("eps") if attack in BOUNDED else None
    clip = clip_of(kwargs.get("clip", (0.0, 1.0)))
    return out, eps, norm, clip
