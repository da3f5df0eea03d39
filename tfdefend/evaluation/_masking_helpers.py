"""Private helpers of `masking_checks`: input checks, per-image robustness, the paired comparison."""

import math

import numpy as np

from tfdefend.evaluation.metrics import check_adversarial, check_images, correct_mask, predict_labels
from tfdefend.utils import validation as V

MARGIN_IMAGES = 2  # "clearly": the robust counts differ by more than max(2 images, 1% of n) ...
MARGIN_FRACTION = 0.01
SIGNIFICANCE = 0.05  # ... and the one-sided sign test on the images only one attack broke gives p < 0.05


def margin_images(n):
    """The least robust-count difference that can count as "clearly": `max(2, ceil(1% of n))`."""
    return max(MARGIN_IMAGES, math.ceil(MARGIN_FRACTION * n))


def sign_test(wins, losses):
    """One-sided exact sign test: `P[X >= wins]` for `X ~ Binomial(wins + losses, 1/2)`."""
    total = wins + losses
    if total == 0:
        return 1.0
    return sum(math.comb(total, k) for k in range(wins, total + 1)) / 2 ** total


def compare(robust_a, robust_b, n, name_a, name_b):
    """`(flagged, values)`: does attack A leave clearly fewer robust images than attack B (paired, per image)?

    `values` holds both robust counts, the images only A broke and only B
    broke, the margin and the sign test's p-value.
    """
    only_a = int(np.sum(robust_b & ~robust_a))
    only_b = int(np.sum(robust_a & ~robust_b))
    margin = margin_images(n)
    p_value = sign_test(only_a, only_b)
    flagged = bool(only_a - only_b > margin and p_value < SIGNIFICANCE)
    return flagged, {f"{name_a}_robust": int(robust_a.sum()), f"{name_b}_robust": int(robust_b.sum()),
                     f"only_{name_a}_broke": only_a, f"only_{name_b}_broke": only_b,
                     "margin_images": margin, "p_value": p_value}


def robust_after(run, model, x, y, start, batch_size, name):
    """Bool [N]: the images of `start` that `model` still labels `y` after `run(x_batch, y_batch) -> x_adv`.

    Only the images of `start` are attacked, `batch_size` at a time (an
    empty selection runs nothing).
    """
    robust = start.copy()
    todo = np.flatnonzero(start)
    for first in range(0, todo.size, batch_size):
        idx = todo[first:first + batch_size]
        x_adv = check_adversarial(name, x[idx], run(x[idx], y[idx]))
        robust[idx] = predict_labels(model, x_adv, batch_size=batch_size) == y[idx]
    return robust


def _check_callable(value, name, optional=False):
    if (value is None and not optional) or (value is not None and not callable(value)):
        kind = "a callable returning logits" + (" or None" if optional else "")
        raise TypeError(f"`{name}` must be {kind}, got {type(value).__name__}.")


def check_inputs(model, x, y, *, eps, norm, attack_model, transfer_from, white_box_robust, steps, large_eps,
                 square_queries, seed, batch_size, clip):
    """Validates `masking_checks`' arguments; returns a dict of the checked values.

    Keys: `x` (float32 NumPy), `y` (int32), `clean` (bool [N]), `eps`,
    `norm`, `large_eps`, `steps`, `square_queries`, `seed`, `batch_size`,
    `clip`, `white_box_robust` (bool [N] or None).
    """
    _check_callable(model, "model")
    _check_callable(attack_model, "attack_model", optional=True)
    _check_callable(transfer_from, "transfer_from", optional=True)
    if clip is None:
        raise ValueError("`clip` must be a finite (min, max) range: the Square attack and the default "
                         "`large_eps` need it.")
    lo, hi = V.check_clip(clip)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"`clip` must be a finite (min, max) range, got {clip!r}.")
    norm = V.check_norm(norm)
    eps = V.check_eps(eps, norm=norm, clip=clip, allow_zero=False)
    steps = V.check_positive_int(steps, "steps")
    square_queries = V.check_positive_int(square_queries, "square_queries")
    batch_size = V.check_positive_int(batch_size, "batch_size")
    seed = V.check_seed(seed)
    x_t = V.check_batch_images(x, clip=clip)
    x_t = check_images(model, x_t)
    x_np = x_t.numpy()
    n = len(x_np)
    if large_eps is None:
        large_eps = 0.5 * (hi - lo) * (1.0 if norm == "inf" else math.sqrt(float(np.prod(x_np.shape[1:]))))
    large_eps = V.check_eps(large_eps, name="large_eps", norm=norm, clip=clip)
    if large_eps < eps:
        raise ValueError(f"`large_eps` must be >= `eps` = {eps}, got {large_eps}.")
    if y is None:
        y_np = predict_labels(model, x_np, batch_size=batch_size)
        clean = np.ones(n, bool)
    else:
        clean = correct_mask(model, x_np, y, batch_size=batch_size)
        y_np = V.check_labels(y, n).numpy()
    return {"x": x_np, "y": y_np.astype(np.int32), "clean": clean, "eps": eps, "norm": norm,
            "large_eps": large_eps, "steps": steps, "square_queries": square_queries, "seed": seed,
            "batch_size": batch_size, "clip": (lo, hi),
            "white_box_robust": _check_robust(white_box_robust, n)}


def _check_robust(value, n):
    """`white_box_robust` as a bool array [n] (None stays None)."""
    if value is None:
        return None
    try:
        array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    except (TypeError, ValueError):
        raise ValueError("`white_box_robust` must be a bool array [N].") from None
    if array.shape != (n,):
        raise ValueError(f"`white_box_robust` must have shape ({n},) (one flag per image of `x`), "
                         f"got shape {array.shape}.")
    if array.dtype != bool:
        if not np.issubdtype(array.dtype, np.integer) or not np.isin(array, (0, 1)).all():
            raise TypeError(f"`white_box_robust` must be a bool array (or 0/1 ints), got dtype "
                            f"{array.dtype}.")
    return array.astype(bool)
