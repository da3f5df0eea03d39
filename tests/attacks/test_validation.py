"""Bad inputs raise ValueError/TypeError naming the argument, for every attack."""

import numpy as np
import pytest

from tfdefend import attacks as A

ATTACKS = {
    "fgsm": lambda m, x, **kw: A.fgsm(m, x, **{"eps": 0.1, **kw}),
    "bim": lambda m, x, **kw: A.bim(m, x, **{"eps": 0.1, "steps": 2, **kw}),
    "pgd": lambda m, x, **kw: A.pgd(m, x, **{"eps": 0.1, "step_size": 0.05, "steps": 2, **kw}),
    "mifgsm": lambda m, x, **kw: A.mifgsm(m, x, **{"eps": 0.1, "steps": 2, **kw}),
    "deepfool": lambda m, x, **kw: A.deepfool(m, x, **{"steps": 2, **kw}),
    "carlini_wagner_l2": lambda m, x, **kw: A.carlini_wagner_l2(
        m, x, **{"steps": 2, "binary_search_steps": 1, **kw}),
    "jsma": lambda m, x, **kw: A.jsma(m, x, **{"seed": 0, **kw}),
    "apgd": lambda m, x, **kw: A.apgd(m, x, **{"eps": 0.1, "steps": 2, "seed": 0, **kw}),
    "square": lambda m, x, **kw: A.square(m, x, **{"eps": 0.1, "queries": 3, "seed": 0, **kw}),
}
EPS_ATTACKS = ["fgsm", "bim", "pgd", "mifgsm"]
LABEL_ATTACKS = ["fgsm", "bim", "pgd", "mifgsm", "carlini_wagner_l2", "jsma", "apgd", "square"]
TARGETED_ATTACKS = ["fgsm", "bim", "pgd", "mifgsm", "carlini_wagner_l2"]


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_valid_call_shape_dtype(tiny_model, rand_images, name):
    out = ATTACKS[name](tiny_model, rand_images)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == rand_images.shape
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_plain_callable_model(tiny_model, rand_images, name):
    out = ATTACKS[name](lambda t: tiny_model(t), rand_images)
    assert out.shape == rand_images.shape


@pytest.mark.parametrize("name", sorted(ATTACKS))
@pytest.mark.parametrize("case,exc,word", [
    ("above_range", ValueError, "`x`"),
    ("below_range", ValueError, "`x`"),
    ("nan", ValueError, "`x`"),
    ("rank3", ValueError, "`x`"),
    ("strings", TypeError, "`x`"),
])
def test_bad_x(tiny_model, rand_images, name, case, exc, word):
    x = rand_images.copy()
    if case == "above_range":
        x[0, 0, 0, 0] = 1.5
    elif case == "below_range":
        x[0, 0, 0, 0] = -0.1
    elif case == "nan":
        x[1, 2, 3, 0] = np.nan
    elif case == "rank3":
        x = x[..., 0]
    else:
        x = np.full((2, 8, 8, 1), "a")
    with pytest.raises(exc, match=word):
        ATTACKS[name](tiny_model, x)


@pytest.mark.parametrize("name", EPS_ATTACKS)
@pytest.mark.parametrize("eps,exc", [(-0.1, ValueError), (1.5, ValueError), (float("nan"), ValueError),
                                     ("0.1", TypeError)])
def test_bad_eps(tiny_model, rand_images, name, eps, exc):
    with pytest.raises(exc, match="eps"):
        ATTACKS[name](tiny_model, rand_images, eps=eps)


@pytest.mark.parametrize("name", ["bim", "pgd", "mifgsm", "deepfool", "carlini_wagner_l2"])
@pytest.mark.parametrize("steps,exc", [(0, ValueError), (2.5, TypeError)])
def test_bad_steps(tiny_model, rand_images, name, steps, exc):
    with pytest.raises(exc, match="steps"):
        ATTACKS[name](tiny_model, rand_images, steps=steps)


@pytest.mark.parametrize("name", LABEL_ATTACKS)
def test_wrong_label_length(tiny_model, rand_images, name):
    with pytest.raises(ValueError, match="`y`"):
        ATTACKS[name](tiny_model, rand_images, y=np.zeros(5, np.int32))


@pytest.mark.parametrize("name", LABEL_ATTACKS)
def test_label_out_of_range(tiny_model, rand_images, name):
    with pytest.raises(ValueError, match="`y`"):
        ATTACKS[name](tiny_model, rand_images, y=np.full(8, 10))


@pytest.mark.parametrize("name", ["fgsm", "pgd"])
@pytest.mark.parametrize("norm", ["l1", 3, None, "l0"])
def test_unknown_norm(tiny_model, rand_images, name, norm):
    with pytest.raises(ValueError, match="norm"):
        ATTACKS[name](tiny_model, rand_images, norm=norm)


@pytest.mark.parametrize("norm", [np.inf, 2, "linf", "L2"])
def test_norm_aliases(tiny_model, rand_images, norm):
    out = A.pgd(tiny_model, rand_images, eps=0.1, step_size=0.05, steps=1, norm=norm)
    assert out.shape == rand_images.shape


@pytest.mark.parametrize("attack", ["pgd", "fgsm"])
@pytest.mark.parametrize("clip", [(0.0, 1.0), None])
def test_l2_eps_may_exceed_one(tiny_model, rand_images, attack, clip):
    """An L2 budget above 1 is legal (an 8x8 image in [0, 1] can move by up to 8 in L2): the attack
    runs, stays inside the ball and moves every image further than any budget below 1 allows."""
    def distances(eps):
        if attack == "pgd":
            out = A.pgd(tiny_model, rand_images, eps=eps, step_size=eps / 4, steps=8, norm="l2", clip=clip)
        else:
            out = A.fgsm(tiny_model, rand_images, eps=eps, norm="l2", clip=clip)
        assert out.shape == rand_images.shape and np.all(np.isfinite(out))
        if clip is not None:
            assert out.min() >= 0.0 and out.max() <= 1.0
        return np.sqrt(np.sum((out.astype(np.float64) - rand_images) ** 2, axis=(1, 2, 3)))

    small, large = distances(0.9), distances(3.0)
    assert np.all(small <= 0.9 + 1e-5) and np.all(large <= 3.0 + 1e-5)
    assert np.all(large > 1.0) and large.mean() > 1.5 * small.mean()


@pytest.mark.parametrize("name", TARGETED_ATTACKS)
def test_targeted_needs_y(tiny_model, rand_images, name):
    with pytest.raises(ValueError, match="`y`"):
        ATTACKS[name](tiny_model, rand_images, targeted=True)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_bad_clip(tiny_model, rand_images, name):
    with pytest.raises(ValueError, match="clip"):
        ATTACKS[name](tiny_model, rand_images, clip=(1.0, 0.0))


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_model_not_callable(rand_images, name):
    with pytest.raises(TypeError, match="model"):
        ATTACKS[name]("not a model", rand_images)


@pytest.mark.parametrize("kwargs,word", [
    ({"step_size": -1.0}, "step_size"), ({"step_size": 2.0}, "step_size"),
])
def test_bad_step_size(tiny_model, rand_images, kwargs, word):
    with pytest.raises(ValueError, match=word):
        ATTACKS["pgd"](tiny_model, rand_images, **kwargs)


@pytest.mark.parametrize("name,kwargs,word", [
    ("mifgsm", {"decay": -1.0}, "decay"),
    ("deepfool", {"overshoot": -0.1}, "overshoot"),
    ("deepfool", {"num_candidates": 1}, "num_candidates"),
    ("carlini_wagner_l2", {"initial_const": 0.0}, "initial_const"),
    ("carlini_wagner_l2", {"learning_rate": -1.0}, "learning_rate"),
    ("carlini_wagner_l2", {"confidence": -1.0}, "confidence"),
    ("carlini_wagner_l2", {"binary_search_steps": 0}, "binary_search_steps"),
    ("jsma", {"theta": 0.0}, "theta"),
    ("jsma", {"gamma": 0.0}, "gamma"),
    ("jsma", {"gamma": 1.5}, "gamma"),
    ("jsma", {"clip": None}, "clip"),
    ("pgd", {"seed": "abc", "random_start": True}, "seed"),
])
def test_bad_hyperparameters(tiny_model, rand_images, name, kwargs, word):
    with pytest.raises((ValueError, TypeError), match=word):
        ATTACKS[name](tiny_model, rand_images, **kwargs)


def test_check_choice():
    from tfdefend.utils.validation import check_choice

    assert check_choice("ce", "loss", ("ce", "margin")) == "ce"
    with pytest.raises(ValueError, match="`loss` must be one of"):
        check_choice("CE", "loss", ("ce", "margin"))
    with pytest.raises(TypeError, match="`loss` must be a str"):
        check_choice(1, "loss", ("ce", "margin"))
