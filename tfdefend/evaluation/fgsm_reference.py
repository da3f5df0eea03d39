"""Deep Defense's FGSM figures: the reference budget eps_ref and accuracy at k * eps_ref."""

import math
import numbers

import numpy as np

from tfdefend.attacks.fgsm import fgsm
from tfdefend.evaluation.batching import as_data, iterate_batches
from tfdefend.evaluation.metrics import predict_labels
from tfdefend.utils.validation import check_batch_images, check_clip, check_eps, check_float, check_positive_int


def _fgsm_accuracy(model, data, eps, batch_size, clip, limit):
    """Top-1 accuracy on L-inf FGSM examples of budget `eps` (true labels), streamed; NaN without samples."""
    correct = n = 0
    for xb, yb in iterate_batches(data, batch_size, limit):
        xb = check_batch_images(xb, clip=clip).numpy()
        x_adv = xb if eps == 0 else fgsm(model, xb, yb, eps=eps, clip=clip)
        correct += int(np.sum(predict_labels(model, x_adv, batch_size=batch_size) == yb))
        n += len(yb)
    return correct / n if n else float("nan")


def fgsm_eps_ref(model, x, y=None, *, target_accuracy=0.5, lo=0.0, hi=1.0, tol=1e-3, max_iter=30,
                 batch_size=256, clip=(0.0, 1.0), limit=None):
    """The L-inf FGSM budget at which `model`'s accuracy on `(x, y)` falls to `target_accuracy`.

    Bisection on `eps` in `[lo, hi]` (FGSM accuracy is assumed to fall as
    `eps` grows): it keeps `acc(lo) > target_accuracy >= acc(hi)` and stops
    once `hi - lo <= tol` or after `max_iter` halvings. Deep Defense reports
    accuracies at `k * eps_ref` with `eps_ref` the budget that brings its
    own model to 50% (`accuracy_at_eps_ref`).

    Each bisection step streams the data once more, batch by batch
    (constant memory), so a dataset must be re-iterable (any
    `tf.data.Dataset` is; a generator-backed one restarts its generator).

    Args:
        model: A `keras.Model` or callable returning logits.
        x: Images `[N, H, W, C]` inside `clip`; or, with `y` left out, a
            `tf.data.Dataset` of `(x, y)` (batched or not) or an `(x, y)` pair.
        y: Integer labels `[N]`, or None when `x` holds them.
        target_accuracy: Accuracy to reach, in (0, 1).
        lo: Lower end of the search (>= 0).
        hi: Upper end of the search (> lo; at most the width of `clip`).
        tol: Width of the final bracket (> 0).
        max_iter: Maximum number of bisection steps (>= 1).
        batch_size: Images per FGSM call.
        clip: `(min, max)` valid image range.
        limit: Use at most this many images.

    Returns:
        The upper end of the final bracket (a float): the smallest budget
        found whose FGSM accuracy is `<= target_accuracy`.

    Raises:
        ValueError: If the accuracy at `lo` is already `<= target_accuracy`
            or the accuracy at `hi` is still above it (no crossing in
            `[lo, hi]`), or an argument is out of range.
        TypeError: Non-numeric arguments.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    data = as_data(x, y)
    target_accuracy = check_float(target_accuracy, "target_accuracy", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    lo = check_eps(lo, name="lo", clip=clip)
    hi = check_eps(hi, name="hi", clip=clip)
    if not hi > lo:
        raise ValueError(f"`hi` must be > `lo`, got lo={lo}, hi={hi}.")
    tol = check_float(tol, "tol", lo=0.0, lo_open=True)
    max_iter = check_positive_int(max_iter, "max_iter")
    clip = check_clip(clip)
    acc_lo = _fgsm_accuracy(model, data, lo, batch_size, clip, limit)
    if math.isnan(acc_lo):
        raise ValueError("`x` must hold at least one image.")
    if acc_lo <= target_accuracy:
        raise ValueError(f"FGSM accuracy at lo={lo} is already {acc_lo:.4f} <= target_accuracy="
                         f"{target_accuracy}; lower `lo` (or the model is not accurate enough).")
    acc_hi = _fgsm_accuracy(model, data, hi, batch_size, clip, limit)
    if acc_hi > target_accuracy:
        raise ValueError(f"FGSM accuracy never falls to target_accuracy={target_accuracy} in "
                         f"[{lo}, {hi}]: it is still {acc_hi:.4f} at hi={hi}; raise `hi`.")
    for _ in range(max_iter):
        if hi - lo <= tol:
            break
        mid = 0.5 * (lo + hi)
        if _fgsm_accuracy(model, data, mid, batch_size, clip, limit) > target_accuracy:
            lo = mid
        else:
            hi = mid
    return float(hi)


def accuracy_at_eps_ref(model, x, y, eps_ref, ks=(0.2, 0.5, 1.0), *, batch_size=256, clip=(0.0, 1.0),
                        limit=None):
    """L-inf FGSM accuracy at the budgets `k * eps_ref` (Deep Defense's "Acc.@k eps_ref").

    Streams the data once per budget, batch by batch (constant memory).

    Args:
        model: A `keras.Model` or callable returning logits.
        x: Images `[N, H, W, C]` inside `clip`; or a `tf.data.Dataset` of
            `(x, y)` (batched or not) or an `(x, y)` pair, with `y=None`.
        y: Integer labels `[N]` (FGSM raises their cross-entropy), or None
            when `x` holds them.
        eps_ref: Reference budget (>= 0), e.g. from `fgsm_eps_ref`.
        ks: Multipliers (each >= 0; `k * eps_ref` must fit the clip range).
        batch_size: Images per FGSM call.
        clip: `(min, max)` valid image range.
        limit: Use at most this many images.

    Returns:
        `{k: accuracy}` with float keys in the order of `ks` (NaN without images).

    Raises:
        ValueError: A negative or too large budget, or bad `x`/`y`.
        TypeError: Non-numeric arguments.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    data = as_data(x, y)
    eps_ref = check_eps(eps_ref, name="eps_ref", clip=clip)
    if isinstance(ks, (str, bytes)) or not hasattr(ks, "__iter__"):
        raise TypeError(f"`ks` must be a sequence of floats, got {type(ks).__name__}.")
    clip_bounds = check_clip(clip)
    out = {}
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, numbers.Real) or not math.isfinite(k) or k < 0:
            raise ValueError(f"`ks` must hold finite floats >= 0, got {k!r}.")
        eps = check_eps(float(k) * eps_ref, name="k * eps_ref", clip=clip)
        out[float(k)] = _fgsm_accuracy(model, data, eps, batch_size, clip_bounds, limit)
    return out
