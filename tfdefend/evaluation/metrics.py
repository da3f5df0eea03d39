"""Accuracy, attack success rate and per-sample perturbation norms."""

import numpy as np

from tfdefend.utils.calling import call_model
from tfdefend.utils.validation import check_labels, check_positive_int


def predict_labels(model, x, *, batch_size=256):
    """Returns the argmax predictions of `model` (logits) on `x`, batched, as int32."""
    import tensorflow as tf

    batch_size = check_positive_int(batch_size, "batch_size")
    x = np.asarray(x, dtype=np.float32) if not isinstance(x, tf.Tensor) else x
    preds = []
    for start in range(0, int(x.shape[0]), batch_size):
        logits = call_model(model, x[start:start + batch_size])
        preds.append(np.argmax(np.asarray(logits), axis=-1).astype(np.int32))
    return np.concatenate(preds) if preds else np.zeros([0], np.int32)


def accuracy(model, x, y, *, batch_size=256):
    """Top-1 accuracy of `model` on `(x, y)`, a float in [0, 1]."""
    y = check_labels(y, int(np.shape(x)[0])).numpy()
    return float(np.mean(predict_labels(model, x, batch_size=batch_size) == y))


def attack_success_rate(model, x_adv, y, *, x_clean=None, targeted=False, batch_size=256):
    """Fraction of adversarial examples that fool `model`.

    Untargeted: fraction of `x_adv` not classified as `y` (the true labels),
    counted only over the samples `model` classifies correctly on `x_clean`
    when `x_clean` is given (the usual convention). Targeted: fraction
    classified as `y` (the target labels).
    """
    n = int(np.shape(x_adv)[0])
    y = check_labels(y, n).numpy()
    adv_pred = predict_labels(model, x_adv, batch_size=batch_size)
    if targeted:
        return float(np.mean(adv_pred == y))
    keep = np.ones(n, bool) if x_clean is None else predict_labels(model, x_clean, batch_size=batch_size) == y
    if not keep.any():
        return float("nan")
    return float(np.mean(adv_pred[keep] != y[keep]))


def perturbation_norms(x, x_adv, *, per_pixel=False, tol=1e-6):
    """Per-sample l0, l1, l2 and linf norms of `x_adv - x`.

    Args:
        x: Clean batch, [N, H, W, C].
        x_adv: Perturbed batch of the same shape.
        per_pixel: If True, l0 counts spatial positions where any channel
            changed (the convention of sparse attacks on colour images);
            else it counts changed elements.
        tol: Changes with magnitude <= tol do not count towards l0.

    Returns:
        A dict of float64 arrays of shape [N]: "l0", "l1", "l2", "linf".

    Raises:
        ValueError: If the shapes differ.
    """
    x = np.asarray(x, dtype=np.float64)
    x_adv = np.asarray(x_adv, dtype=np.float64)
    if x.shape != x_adv.shape:
        raise ValueError(f"`x_adv` shape {x_adv.shape} differs from `x` shape {x.shape}.")
    delta = (x_adv - x).reshape(x.shape[0], -1)
    changed = np.abs(x_adv - x) > tol
    if per_pixel and x.ndim == 4:
        l0 = changed.any(axis=-1).reshape(x.shape[0], -1).sum(axis=1)
    else:
        l0 = changed.reshape(x.shape[0], -1).sum(axis=1)
    return {
        "l0": l0.astype(np.float64),
        "l1": np.abs(delta).sum(axis=1),
        "l2": np.sqrt((delta ** 2).sum(axis=1)),
        "linf": np.abs(delta).max(axis=1) if delta.shape[1] else np.zeros(x.shape[0]),
    }


def denoising_l1(preprocessor, x_input, x_clean, *, batch_size=256):
    """Mean absolute pixel distance between `preprocessor(x_input)` and `x_clean`.

    The seed's Table 1 metric (UDDN paper): how close a denoiser brings
    clean, white-box or black-box adversarial inputs to the clean images.
    `preprocessor=None` measures the inputs themselves (the "no defense" row).

    Returns:
        A float: the mean over images of the per-pixel mean |difference|.

    Raises:
        ValueError: If the shapes differ.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    if np.shape(x_input) != np.shape(x_clean):
        raise ValueError(f"`x_input` shape {np.shape(x_input)} differs from `x_clean` shape {np.shape(x_clean)}.")
    distances = []
    for start in range(0, int(np.shape(x_input)[0]), batch_size):
        batch = np.asarray(x_input[start:start + batch_size], dtype=np.float32)
        out = batch if preprocessor is None else np.asarray(call_model(preprocessor, batch))
        clean = np.asarray(x_clean[start:start + batch_size], dtype=np.float32)
        distances.append(np.abs(out - clean).reshape(len(batch), -1).mean(axis=1))
    return float(np.concatenate(distances).mean()) if distances else float("nan")
