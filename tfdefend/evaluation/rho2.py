"""The Deep Defense robustness metric rho_2: mean relative L2 size of DeepFool perturbations."""

import numpy as np

from tfdefend.attacks.deepfool import deepfool
from tfdefend.evaluation.batching import as_data, iterate_batches
from tfdefend.evaluation.metrics import correct_mask
from tfdefend.utils.validation import check_batch_images, check_float, check_positive_int


def rho2(model, x, y=None, *, steps=50, overshoot=0.02, num_candidates=10, batch_size=256, clip=None,
         correct_only=True, limit=None):
    """Mean `||r_DeepFool(x)||_2 / ||x||_2` (Moosavi-Dezfooli et al., 2016; Yan et al., 2018).

    The DeepFool perturbation of each image is computed with
    `tfdefend.attacks.deepfool` (untargeted, from the model's prediction);
    images it fails to flip within `steps` iterations count with the
    perturbation reached. Larger is more robust. The data are streamed
    batch by batch (running sums only), so a dataset of any length works.

    Args:
        model: A `keras.Model` or callable returning logits.
        x: Images `[N, H, W, C]`; or, with `y` left out, a `tf.data.Dataset`
            of `(x, y)` (batched or not, any length) or an `(x, y)` pair.
        y: Integer labels `[N]`, or None when `x` holds them.
        steps: Maximum DeepFool iterations (>= 1).
        overshoot: DeepFool overshoot (>= 0).
        num_candidates: Top classes DeepFool considers (>= 2).
        batch_size: Images per DeepFool call (>= 1).
        clip: `(min, max)` to clip the DeepFool iterates into, or None (the
            default, as in the Deep Defense paper: the unclipped perturbation).
        correct_only: Average over the images `model` classifies correctly
            (the default); if False, over all images (the reference code's
            test-set figure).
        limit: Use at most this many images.

    Returns:
        The mean ratio as a float; NaN if no image is averaged (e.g. none is
        classified correctly). Images with `||x||_2 = 0` are skipped.

    Raises:
        ValueError: Bad `x`, `y` or options.
        TypeError: Non-numeric arguments.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    steps = check_positive_int(steps, "steps")
    num_candidates = check_positive_int(num_candidates, "num_candidates", minimum=2)
    overshoot = check_float(overshoot, "overshoot", lo=0.0)
    sums = [0.0, 0]  # sum of the ratios, number of ratios

    def attack(xb):
        x_adv = deepfool(model, xb, steps=steps, overshoot=overshoot, num_candidates=num_candidates,
                         clip=clip)
        flat = xb.reshape(xb.shape[0], -1).astype(np.float64)
        r_norm = np.linalg.norm(np.asarray(x_adv, np.float64).reshape(flat.shape) - flat, axis=1)
        x_norm = np.linalg.norm(flat, axis=1)
        nonzero = x_norm > 0
        sums[0] += float(np.sum(r_norm[nonzero] / x_norm[nonzero]))
        sums[1] += int(nonzero.sum())

    # The kept images are regrouped into full batches (fewer than 2 batches are held at a time), so
    # DeepFool sees one batch shape, not one per count of correct images, and does not retrace.
    pending, seen = np.zeros([0], np.float32), 0
    for xb, yb in iterate_batches(as_data(x, y), batch_size, limit):
        xb = check_batch_images(xb, clip=clip).numpy()
        seen += len(xb)
        if correct_only:
            xb = xb[correct_mask(model, xb, yb, batch_size=batch_size)]
        pending = np.concatenate([pending, xb]) if len(pending) else xb
        while len(pending) >= batch_size:
            attack(pending[:batch_size])
            pending = pending[batch_size:]
    if len(pending):
        attack(pending)
    total, count = sums
    if seen == 0:
        raise ValueError("`x` holds no samples.")
    return total / count if count else float("nan")
