"""Accuracy, attack success rate and per-sample perturbation norms."""

import numpy as np

from tfdefend.evaluation.batching import as_data, iterate_batches
from tfdefend.utils.calling import call_model, check_model_input
from tfdefend.utils.validation import check_batch_images, check_labels, check_positive_int


def check_images(model, x, *, name="x"):
    """Checks a batch of images to run `model` on; returns it as a float32 `tf.Tensor`.

    The one rule of every metric: a non-empty numeric [N, H, W, C] batch of
    finite values (any range) that fits the model's fixed input shape, if
    it has one.

    Raises:
        TypeError: If `x` is not numeric.
        ValueError: On a wrong rank, an empty batch, NaN/inf, or a shape the
            model does not take.
    """
    x = check_batch_images(x, name=name, clip=None)
    check_model_input(model, x, name=name)
    return x


def _predict(model, x, batch_size, name="x"):
    """`(int32 predictions [N], number of classes)` of `model` on the checked images `x`."""
    batch_size = check_positive_int(batch_size, "batch_size")
    x = check_images(model, x, name=name)
    preds, num_classes = [], None
    for start in range(0, int(x.shape[0]), batch_size):
        logits = np.asarray(call_model(model, x[start:start + batch_size]))
        if logits.ndim != 2:
            raise ValueError(f"`model` must return logits of shape [batch, classes], got shape "
                             f"{logits.shape}.")
        num_classes = int(logits.shape[-1])
        preds.append(np.argmax(logits, axis=-1).astype(np.int32))
    return np.concatenate(preds), num_classes


def predict_labels(model, x, *, batch_size=256):
    """Returns the argmax predictions of `model` (logits) on `x`, batched, as int32.

    Raises:
        ValueError: Bad `x` (see `check_images`), or a model that does not
            return [batch, classes] logits.
        TypeError: Non-numeric `x`.
    """
    return _predict(model, x, batch_size)[0]


def correct_mask(model, x, y, *, batch_size=256, name="x"):
    """Bool [N]: where `model` predicts the labels `y`, which must be ints in [0, classes)."""
    pred, num_classes = _predict(model, x, batch_size, name=name)
    y = check_labels(y, len(pred), num_classes=num_classes).numpy()
    return pred == y


def check_adversarial(attack_name, x, x_adv):
    """`x_adv` as a float32 array of `x`'s shape with finite values, else ValueError naming the attack."""
    try:
        x_adv = np.asarray(x_adv.numpy() if hasattr(x_adv, "numpy") else x_adv, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"Attack {attack_name!r} did not return an array of images.") from None
    if x_adv.shape != np.shape(x):
        raise ValueError(f"Attack {attack_name!r} returned shape {x_adv.shape} for images of shape "
                         f"{np.shape(x)}.")
    if not np.all(np.isfinite(x_adv)):
        raise ValueError(f"Attack {attack_name!r} returned NaN or infinite values.")
    return x_adv


def accuracy(model, x, y=None, *, batch_size=256, limit=None):
    """Top-1 accuracy of `model`, a float in [0, 1], streamed batch by batch.

    Args:
        model: A `keras.Model` or callable returning logits.
        x: Images `[N, H, W, C]` with their labels `y`; or, with `y` left
            out, a `tf.data.Dataset` of `(x, y)` (batched or not, any
            length) or an `(x, y)` pair.
        y: Int labels `[N]`, or None when `x` already holds them.
        batch_size: Batch size for arrays and unbatched datasets.
        limit: Evaluate at most this many samples.

    Raises:
        ValueError: Bad images (see `check_images`), mismatched labels or
            labels outside [0, classes), or no samples at all.
        TypeError: Non-numeric images or labels.
    """
    correct = n = 0
    for xb, yb in iterate_batches(as_data(x, y), batch_size, limit):
        correct += int(np.sum(correct_mask(model, xb, yb, batch_size=batch_size)))
        n += len(yb)
    if n == 0:
        raise ValueError("`x` holds no samples.")
    return correct / n


def attack_success_rate(model, x_adv, y, *, x_clean=None, targeted=False, batch_size=256):
    """Fraction of adversarial examples that fool `model`.

    Untargeted: fraction of `x_adv` not classified as `y` (the true labels),
    counted only over the samples `model` classifies correctly on `x_clean`
    when `x_clean` is given (the usual convention). Targeted: fraction
    classified as `y` (the target labels).
    """
    adv_pred, num_classes = _predict(model, x_adv, batch_size, name="x_adv")
    n = len(adv_pred)
    y = check_labels(y, n, num_classes=num_classes).numpy()
    if targeted:
        return float(np.mean(adv_pred == y))
    if x_clean is not None:
        clean_pred = _predict(model, x_clean, batch_size, name="x_clean")[0]
        if len(clean_pred) != n:
            raise ValueError(f"`x_clean` has {len(clean_pred)} images but `x_adv` has {n}.")
    keep = np.ones(n, bool) if x_clean is None else clean_pred == y
    if not keep.any():
        return float("nan")
    return float(np.mean(adv_pred[keep] != y[keep]))


def _finite_batch(value, name):
    """`value` as a float64 array [N, ...] with N >= 1 finite samples, else TypeError/ValueError naming it."""
    try:
        array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a rectangular numeric array [N, ...].") from None
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise TypeError(f"`{name}` must be a numeric array, got dtype {array.dtype}.")
    if array.ndim == 0 or array.shape[0] == 0:
        raise ValueError(f"`{name}` must be a non-empty batch [N, ...], got shape {array.shape}.")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    return array


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
        ValueError: If the shapes differ, a batch is empty or holds NaN/inf.
        TypeError: Non-numeric arrays.
    """
    x = _finite_batch(x, "x")
    x_adv = _finite_batch(x_adv, "x_adv")
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


def denoising_l1(preprocessor, x_input, x_clean=None, *, batch_size=256, limit=None):
    """Mean absolute pixel distance between `preprocessor(x_input)` and `x_clean`.

    The Table 1 metric of the UDDN paper (Li & Wang, Applied Sciences
    2019): how close a denoiser brings clean, white-box or black-box
    adversarial inputs to the clean images.
    `preprocessor=None` measures the inputs themselves (the "no defense" row).
    Streamed batch by batch (running sums only).

    Args:
        preprocessor: `images -> images` model or callable, or None.
        x_input: Input images `[N, H, W, C]`; or, with `x_clean` left out,
            a `tf.data.Dataset` (or pair) of `(input, clean)` image batches.
        x_clean: The clean images, same shape as `x_input`.
        batch_size: Batch size for arrays and unbatched datasets.
        limit: Use at most this many images.

    Returns:
        A float: the mean over images of the per-pixel mean |difference|
        (NaN when there are no images).

    Raises:
        ValueError: If the shapes differ.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    if x_clean is not None and np.shape(x_input) != np.shape(x_clean):
        raise ValueError(f"`x_input` shape {np.shape(x_input)} differs from `x_clean` shape {np.shape(x_clean)}.")
    total, n = 0.0, 0
    for batch, clean in iterate_batches(as_data(x_input, x_clean), batch_size, limit, labels=False):
        if batch.shape != clean.shape:
            raise ValueError(f"`x_input` batch shape {batch.shape} differs from `x_clean` batch shape {clean.shape}.")
        check_batch_images(batch, name="x_input", clip=None)
        check_batch_images(clean, name="x_clean", clip=None)
        out = batch if preprocessor is None else np.asarray(call_model(preprocessor, batch))
        total += float(np.abs(out - clean).reshape(len(batch), -1).mean(axis=1).sum())
        n += len(batch)
    return total / n if n else float("nan")
