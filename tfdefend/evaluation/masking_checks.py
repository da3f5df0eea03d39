"""`masking_checks`: sanity checks that flag gradient masking in a robustness evaluation.

After Carlini et al. 2019 ("On Evaluating Adversarial Robustness")
and Athalye et al. 2018 ("Obfuscated Gradients Give a False Sense of
Security"): when a gradient-free, a transferred, a larger or a longer attack
does clearly better than the white-box gradient attack, or when the plain
gradient does clearly worse than a BPDA/EOT stand-in, the white-box number
overstates robustness: the gradients are masked or the attack has not
converged.

Every attack runs only on the images the model classifies correctly, and
success is always judged on `model` (the defense as deployed). "Clearly"
(checks 1, 3, 4, 5) means, for the images of `x` (n in all) robust under
attack B but broken by attack A (`only_A`) and the reverse (`only_B`),
both of:

* `only_A - only_B` (the difference of the robust counts) exceeds
  `max(2 images, 1% of n)`, and
* the one-sided exact sign test on those discordant images (McNemar's test,
  `only_A ~ Binomial(only_A + only_B, 1/2)` if the attacks were equally
  strong) gives p < 0.05.

So a flag needs a difference larger than sampling noise, judged per image.
"""

import math

from tfdefend.attacks import apgd, square
from tfdefend.evaluation._masking_helpers import MARGIN_IMAGES, check_inputs, compare, robust_after

CHECKS = ("black_box_beats_white_box", "large_eps_not_zero", "more_steps_help", "transfer_beats_white_box",
          "bpda_beats_plain_gradient")
LARGE_EPS_ROBUST = 0.05  # check 2 flags when more than max(2 images, 5% of n) survive the large budget
MORE_STEPS_FACTOR = 5  # check 3: 5x the steps ...
MORE_STEPS_RESTARTS = 2  # ... with this many random restarts


def masking_checks(model, x, y=None, *, eps, norm="inf", attack_model=None, transfer_from=None,
                   white_box_robust=None, steps=100, large_eps=None, square_queries=1000, seed=0,
                   batch_size=500, clip=(0.0, 1.0)):
    """Runs the gradient-masking checks of Carlini et al. (2019) on one model and budget.

    The white-box attack is APGD-CE (`steps` steps) on `attack_model`, its
    success judged on `model`; pass `white_box_robust` to use your own
    white-box result instead (e.g. AutoAttack's gradient attacks). Checks,
    each reported (`ran=False` when it does not apply):

    1. "black_box_beats_white_box": Square (`square_queries` queries on
       `model`'s scores, no gradients, same budget) leaves clearly fewer
       robust images than the white-box attack.
    2. "large_eps_not_zero": APGD-CE at `large_eps` leaves more than
       `max(2 images, 5% of n)` robust. Default `large_eps`: half the clip
       range for L-inf (0.5 for [0, 1] images: every image reaches the
       mid-gray image); for L2, `0.5 * range * sqrt(H * W * C)` (again enough to
       reach mid-gray).
    3. "more_steps_help": APGD-CE with 5x the steps and 2 random restarts
       (other seeds), run on the images the white-box attack left robust,
       breaks clearly more of them (the attack had not converged:
       uninformative gradients).
    4. "transfer_beats_white_box": with `transfer_from`, APGD-CE crafted on
       that surrogate and evaluated on `model` leaves clearly fewer robust
       images than the white-box attack.
    5. "bpda_beats_plain_gradient": when `attack_model is not model`,
       APGD-CE with `model`'s own gradient leaves clearly more robust images
       than with `attack_model` (the plain gradient is masked: an
       evaluation with it would overstate robustness).

    "Clearly" is defined in the module docstring: a robust-count difference
    above `max(2, 1% of n)` images and a one-sided sign test p < 0.05 on the
    images only one of the two attacks broke.

    Args:
        model: The defense as deployed: a `keras.Model` or callable
            returning logits (its gradients may be zero or None).
        x: Images [N, H, W, C] inside `clip`.
        y: True int labels [N]; defaults to `model`'s predictions.
        eps: Budget (> 0) in `norm`.
        norm: "inf" or "l2".
        attack_model: Differentiable stand-in for white-box gradients (e.g.
            `bpda(...)`, `eot(...)`); defaults to `model`.
        transfer_from: Optional surrogate classifier (e.g. the undefended
            one) for the transfer check.
        white_box_robust: Optional bool array [N]: per image, robust after
            your own white-box evaluation (combined with clean
            correctness); then no white-box attack is run here.
        steps: APGD-CE steps of the white-box, large-budget, transfer and
            plain-gradient attacks.
        large_eps: Budget of check 2 (>= `eps`); see above for the default.
        square_queries: Square Attack queries per image.
        seed: Int seed of every attack (None: drawn).
        batch_size: Images per attack and prediction call.
        clip: Finite `(min, max)` image range.

    Returns:
        A dict with `n`, `eps`, `norm`, `clean_accuracy`,
        `white_box_robust_accuracy`, `checks` (in the order above: each
        `name`, `flagged`, `ran`, `detail` (one sentence with the numbers),
        `values` (the numbers)) and `warnings` (the `detail` of every
        flagged check).

    Raises:
        ValueError: Bad `x`, `y`, `eps`, `norm`, `large_eps`, `clip`, counts,
            or `white_box_robust` of the wrong shape.
        TypeError: A non-callable model, non-numeric images or labels, or a
            `white_box_robust` that is not boolean.
    """
    checked = check_inputs(model, x, y, eps=eps, norm=norm, attack_model=attack_model,
                           transfer_from=transfer_from, white_box_robust=white_box_robust, steps=steps,
                           large_eps=large_eps, square_queries=square_queries, seed=seed,
                           batch_size=batch_size, clip=clip)
    run = _Runner(model, model if attack_model is None else attack_model, checked)
    clean = checked["clean"]
    if checked["white_box_robust"] is None:
        white = run.robust(run.apgd_ce(run.attack_model, run.eps, 0), clean, "white-box APGD-CE")
        white_name = f"white-box APGD-CE ({run.steps} steps)"
    else:
        white = checked["white_box_robust"] & clean
        white_name = "the given white-box evaluation"
    checks = [_black_box(run, white, white_name), _large_eps(run), _more_steps(run, white, white_name),
              _transfer(run, transfer_from, white, white_name), _plain(run, white, white_name)]
    return {"n": run.n, "eps": run.eps, "norm": run.norm, "clean_accuracy": float(clean.mean()),
            "white_box_robust_accuracy": float(white.sum() / run.n), "checks": checks,
            "warnings": [c["detail"] for c in checks if c["flagged"]]}


class _Runner:
    """The checked arguments, and APGD-CE / per-image robustness on them."""

    def __init__(self, model, attack_model, checked):
        self.model, self.attack_model, self.checked = model, attack_model, checked
        self.x, self.y, self.clean = checked["x"], checked["y"], checked["clean"]
        self.n, self.eps, self.norm = len(self.y), checked["eps"], checked["norm"]
        self.steps = checked["steps"]

    def seed(self, k):
        """The seed of the k-th attack (None when unseeded)."""
        return None if self.checked["seed"] is None else self.checked["seed"] + k

    def apgd_ce(self, source, budget, k, *, more=1, restarts=1):
        """`(x, y) -> x_adv`: APGD-CE on `source`'s gradients."""
        return lambda xb, yb: apgd(source, xb, yb, eps=budget, norm=self.norm, loss="ce",
                                   steps=self.steps * more, restarts=restarts, seed=self.seed(k),
                                   clip=self.checked["clip"])

    def robust(self, attack, start, name):
        """Bool [N]: the images of `start` that `model` still classifies correctly after `attack`."""
        return robust_after(attack, self.model, self.x, self.y, start, self.checked["batch_size"], name)


def _check(name, flagged, detail, values, ran=True):
    return {"name": name, "flagged": bool(flagged), "ran": ran, "detail": detail, "values": values}


def _count(k, n):
    return f"{k}/{n} ({100 * k / n:.1f}%)"


def _versus(name_a, robust_a, name_b, robust_b, n, key_a, key_b):
    """`(flagged, values, clause)`: does A leave clearly fewer robust images than B (see `compare`)?"""
    flagged, values = compare(robust_a, robust_b, n, key_a, key_b)
    clause = (f"{name_a} leaves {_count(int(robust_a.sum()), n)} robust and {name_b} "
              f"{_count(int(robust_b.sum()), n)}, with {values[f'only_{key_a}_broke']} images broken only "
              f"by the former and {values[f'only_{key_b}_broke']} only by the latter "
              f"(margin {values['margin_images']}, sign-test p = {values['p_value']:.2g})")
    return flagged, values, clause


def _black_box(run, white, white_name):
    name, queries = CHECKS[0], run.checked["square_queries"]

    def attack(xb, yb):
        return square(run.model, xb, yb, eps=run.eps, norm=run.norm, queries=queries, seed=run.seed(1),
                      clip=run.checked["clip"])

    robust = run.robust(attack, run.clean, "square")
    flagged, values, clause = _versus(f"Square ({queries} queries, no gradients)", robust, white_name, white,
                                      run.n, "square", "white_box")
    end = (": a gradient-free attack beats the white-box one, so the gradients are likely masked." if flagged
           else ": no clear difference.")
    return _check(name, flagged, clause + end, values)


def _large_eps(run):
    large_eps = run.checked["large_eps"]
    attack = run.apgd_ce(run.attack_model, large_eps, 2)
    robust = int(run.robust(attack, run.clean, "APGD-CE at large_eps").sum())
    limit = max(MARGIN_IMAGES, math.ceil(LARGE_EPS_ROBUST * run.n))
    flagged = robust > limit
    end = (": a budget this large should break almost every image, so the gradients are likely masked."
           if flagged else ".")
    detail = (f"White-box APGD-CE at the large budget eps = {large_eps:.4g} leaves {_count(robust, run.n)} "
              f"robust (flagged above {limit}){end}")
    return _check(CHECKS[1], flagged, detail, {"large_eps": large_eps, "robust": robust,
                                                "robust_accuracy": robust / run.n, "limit_images": limit})


def _more_steps(run, white, white_name):
    attack = run.apgd_ce(run.attack_model, run.eps, 3, more=MORE_STEPS_FACTOR, restarts=MORE_STEPS_RESTARTS)
    longer = run.robust(attack, white, "longer APGD-CE")  # only the images the white-box attack left robust
    flagged, values, clause = _versus(
        f"APGD-CE with {MORE_STEPS_FACTOR * run.steps} steps and {MORE_STEPS_RESTARTS} restarts", longer,
        white_name, white, run.n, "more_steps", "white_box")
    end = (": the white-box attack had not converged, so its gradients are not informative." if flagged
           else ": no clear difference.")
    return _check(CHECKS[2], flagged, clause + end, values)


def _transfer(run, transfer_from, white, white_name):
    if transfer_from is None:
        return _check(CHECKS[3], False, "Not run: no `transfer_from` surrogate model was given.", {},
                      ran=False)
    robust = run.robust(run.apgd_ce(transfer_from, run.eps, 4), run.clean, "transferred APGD-CE")
    flagged, values, clause = _versus("APGD-CE transferred from the surrogate", robust, white_name, white,
                                      run.n, "transfer", "white_box")
    end = (": a transferred attack beats the white-box one, so the gradients are likely masked." if flagged
           else ": no clear difference.")
    return _check(CHECKS[3], flagged, clause + end, values)


def _plain(run, white, white_name):
    if run.attack_model is run.model:
        return _check(CHECKS[4], False, "Not run: `attack_model` is `model` (no BPDA/EOT stand-in to "
                      "compare).", {}, ran=False)
    plain = run.robust(run.apgd_ce(run.model, run.eps, 5), run.clean, "plain-gradient APGD-CE")
    flagged, values, clause = _versus(white_name, white, "APGD-CE on the plain gradient of `model`", plain,
                                      run.n, "white_box", "plain_gradient")
    end = (": the plain gradient is masked, so an evaluation with it would overstate robustness." if flagged
           else ": no clear difference.")
    return _check(CHECKS[4], flagged, clause + end, values)
