"""The Deep Defense robustness metric rho_2: mean relative L2 size of DeepFool perturbations."""

import numpy as np

from tfdefend.attacks.deepfool import deepfool
from tfdefend.evaluation.metrics import predict_labels
from tfdefend.utils.validation import check_batch_images, check_labels, check_positive_int


def rho2(model, x, y, *, steps=50, overshoot=0.02, num_candidates=10, batch_size=256, clip=None,
         correct_only=True):
    """Mean `||r_DeepFool(x)||_2 / ||x||_2` (Moosavi-Dezfooli et al., 2016; Yan et al., 2018).

    The DeepFool perturbation of each image is computed with
    `tfdefend.attacks.deepfool` (untargeted, from the model's prediction);
    images it fails to flip within `steps` iterations count with the
    perturbation reached. Larger is more robust.

    Args:
        model: A `keras.Model` or callable returning logits.
        x: Images `[N, H, W, C]`.
        y: Integer labels `[N]`.
        steps: Maximum DeepFool iterations (>= 1).
        overshoot: DeepFool overshoot (>= 0).
        num_candidates: Top classes DeepFool considers (>= 2).
        batch_size: Images per DeepFool call (>= 1).
        clip: `(min, max)` to clip the DeepFool iterates into, or None (the
            default, as in the Deep Defense paper: the unclipped perturbation).
        correct_only: Average over the images `model` classifies correctly
            (the default); if False, over all images (the reference code's
            test-set figure).

    Returns:
        The mean ratio as a float; NaN if no image is averaged (e.g. none is
        classified correctly). Images with `||x||_2 = 0` are skipped.

    Raises:
        ValueError: Bad `x`, `y` or options.
        TypeError: Non-numeric arguments.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    x = check_batch_images(x, clip=clip).numpy()
    y = check_labels(y, x.shape[0]).numpy()
    keep = np.ones(x.shape[0], bool)
    if correct_only:
        keep = predict_labels(model, x, batch_size=batch_size) == y
    x = x[keep]
    ratios = []
    for start in range(0, x.shape[0], batch_size):
        xb = x[start:start + batch_size]
        x_adv = deepfool(model, xb, steps=steps, overshoot=overshoot, num_candidates=num_candidates,
                         clip=clip)
        flat = xb.reshape(xb.shape[0], -1).astype(np.float64)
        r_norm = np.linalg.norm(np.asarray(x_adv, np.float64).reshape(flat.shape) - flat, axis=1)
        x_norm = np.linalg.norm(flat, axis=1)
        nonzero = x_norm > 0
        ratios.append(r_norm[nonzero] / x_norm[nonzero])
    ratios = np.concatenate(ratios) if ratios else np.zeros([0])
    return float(ratios.mean()) if ratios.size else float("nan")
