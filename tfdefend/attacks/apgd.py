"""Auto-PGD (Croce & Hein, ICML 2020): step-size-free PGD with momentum, CE or DLR loss, L-inf and L2."""

import numpy as np
import tensorflow as tf

from tfdefend.attacks import _core, kernels
from tfdefend.attacks._loop import UnrolledLoop, as_kernel
from tfdefend.attacks._margin_losses import LOSSES, check_loss_classes, loss_per_sample
from tfdefend.utils import validation as V

MOMENTUM = 0.75  # alpha of the momentum update
OSCILLATION = 0.75  # rho: a checkpoint halves the step when at most this share of the steps raised the loss


def checkpoint_intervals(steps):
    """`(first, shrink, least)`: the checkpoint intervals' lengths in iterations for `steps` iterations.

    The first interval has `max(int(0.22 N), 1)` iterations, each next one
    `shrink = max(int(0.03 N), 1)` fewer, but at least `max(int(0.06 N), 1)`:
    the paper's `p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)`.
    """
    return max(int(0.22 * steps), 1), max(int(0.03 * steps), 1), max(int(0.06 * steps), 1)


def _linf_box(constants):
    """The loop's constants with `lo`, `hi` replaced by the box where the L-inf ball meets the clip range."""
    x, y, target, eps, shrink, least, lo, hi = constants
    return (x, y, target, eps, shrink, least, *kernels.linf_box(x, eps, lo, hi))


def _at_checkpoint(interval, length, shrink, least, raised, halved_at_check, best_at_check, value_best, current, best):
    """APGD's checkpoint, applied only when `interval == length` (a `tf.cond`, not image-sized wheres every step).

    For each image where at most `OSCILLATION` of the interval's steps raised the loss, or where the
    last checkpoint did not halve and the best loss has not grown since: halve the step size and go back
    to the best point and its gradient. Then start the next, shorter interval.

    Args:
        interval, length, shrink, least: The interval's steps so far, its length, the shrink and minimum.
        raised, halved_at_check, best_at_check, value_best: Per image: steps that raised the loss, whether
            the last checkpoint halved, the best loss then and now.
        current: `(size, x_adv, grad)`.
        best: `(x_best, grad_best)`.

    Returns:
        `(size, x_adv, grad, halved_at_check, best_at_check, raised, interval, length)`.
    """
    size, x_adv, grad = current
    x_best, grad_best = best

    def checkpoint():
        oscillating = raised <= OSCILLATION * tf.cast(interval, tf.float32)
        stalled = tf.logical_and(tf.logical_not(halved_at_check), best_at_check >= value_best)
        halve = tf.logical_or(oscillating, stalled)[:, None, None, None]
        return (tf.where(halve, size / 2.0, size), tf.where(halve, x_best, x_adv), tf.where(halve, grad_best, grad),
                halve[:, 0, 0, 0], value_best, tf.zeros_like(raised), tf.zeros_like(interval),
                tf.maximum(length - shrink, least))

    def between():
        return size, x_adv, grad, halved_at_check, best_at_check, raised, interval, length

    return tf.cond(tf.equal(interval, length), checkpoint, between)


def _build_apgd(model, norm, loss, targeted):
    """One APGD run for one model and one set of static options: `run(x, y, target, eps, steps, intervals, lo, hi,
    seed)` (`steps` and `intervals` Python ints), a compiled start, then unrolled compiled chunks of iterations.
    """

    def evaluate(x_adv, y, target):
        with tf.GradientTape() as tape:
            tape.watch(x_adv)
            logits = _core.logits_of(model, x_adv)
            values = loss_per_sample(loss, logits, y, target if targeted else None)
            total = tf.reduce_sum(values)
        grad = tape.gradient(total, x_adv, unconnected_gradients=_core.ZERO)
        fooled = tf.argmax(logits, -1, output_type=tf.int32) != y
        return values, grad, fooled

    def project(v, x, eps, lo, hi):
        # L-inf: `lo`, `hi` are the box where the ball meets the clip range (`_linf_box`), so one clip projects.
        return tf.clip_by_value(v, lo, hi) if norm == "inf" else _core.project(v, x, eps, norm, lo, hi)

    def step(x_adv, grad, size, x, eps, lo, hi):
        if norm == "inf":
            return project(x_adv + size * tf.sign(grad), x, eps, lo, hi)
        return project(x_adv + size * grad / tf.maximum(_core.l2_norm(grad), _core._TINY), x, eps, lo, hi)

    def iteration(i, state, constants):
        (x_adv, x_prev, grad, value_prev, size, best_adv, fooled, x_best, grad_best, value_best, raised,
         interval, length, best_at_check, halved_at_check) = state
        x, y, target, eps, shrink, least, lo, hi = constants
        z = step(x_adv, grad, size, x, eps, lo, hi)
        alpha = tf.where(i > 0, MOMENTUM, 1.0)
        x_new = project(x_adv + alpha * (z - x_adv) + (1.0 - alpha) * (x_adv - x_prev), x, eps, lo, hi)
        x_prev, x_adv = x_adv, x_new
        value, grad, now_fooled = evaluate(x_adv, y, target)
        best_adv = tf.where(now_fooled[:, None, None, None], x_adv, best_adv)
        fooled = tf.logical_or(fooled, now_fooled)
        raised += tf.cast(value > value_prev, tf.float32)
        better = value > value_best
        x_best = tf.where(better[:, None, None, None], x_adv, x_best)
        grad_best = tf.where(better[:, None, None, None], grad, grad_best)
        value_best = tf.where(better, value, value_best)
        interval += 1

        size, x_adv, grad, halved_at_check, best_at_check, raised, interval, length = _at_checkpoint(
            interval, length, shrink, least, raised, halved_at_check, best_at_check, value_best,
            (size, x_adv, grad), (x_best, grad_best))
        return (x_adv, x_prev, grad, value, size, best_adv, fooled, x_best, grad_best, value_best, raised,
                interval, length, best_at_check, halved_at_check)

    loop = UnrolledLoop(iteration, prologue=_linf_box if norm == "inf" else None)

    @tf.function(reduce_retracing=True)
    def start(x, y, target, eps, first_length, lo, hi, seed):
        x_adv = _core.project(x + _core.random_start(x, eps, norm, seed), x, eps, norm, lo, hi)
        value, grad, fooled = evaluate(x_adv, y, target)
        size = 2.0 * eps * tf.ones_like(value)[:, None, None, None]
        # best_adv: the last point that fooled the model, per image; raised: steps that raised the loss
        # since the last checkpoint.
        return (x_adv, x_adv, grad, value, size, x_adv, fooled, x_adv, grad, value, tf.zeros_like(value),
                tf.zeros([], tf.int32), first_length, value, tf.ones_like(value, tf.bool))

    def run(x, y, target, eps, steps, intervals, lo, hi, seed):
        length, shrink, least = intervals
        state = start(x, y, target, eps, tf.constant(length, tf.int32), lo, hi, seed)
        state = loop(state, (x, y, target, eps, tf.constant(shrink, tf.int32), tf.constant(least, tf.int32),
                             lo, hi), steps)
        best_adv, fooled, x_best = state[5], state[6], state[7]
        return tf.where(fooled[:, None, None, None], best_adv, x_best), fooled

    return as_kernel(run, loop, start)


def apgd(model, x, y=None, *, eps, norm="inf", loss="ce", steps=100, restarts=1, seed=None,
         targeted=False, target_classes=9, clip=(0.0, 1.0), return_fooled=False):
    """Auto-PGD: PGD with momentum and an automatic step-size schedule (no step size to tune).

    The step size starts at `2 * eps` and is halved at checkpoints (after
    22% of the steps, then intervals shrinking by 3% to at least 6%) for
    each image where at most 75% of the steps since the last checkpoint
    raised the loss, or where the last checkpoint did not halve and the best
    loss has not grown since; a halving restarts from the best point so far.
    Each step is `z = P(x_k + eta * sign(g))` (L2: `g / ||g||_2`) followed by
    the momentum update `x_{k+1} = P(x_k + 0.75 (z - x_k) + 0.25 (x_k - x_{k-1}))`
    (no momentum on the first step). Each run starts from a uniform random
    point of the ball; `restarts` runs are made, each only on the images not
    fooled yet. One forward and backward pass per step.

    Losses: "ce" (cross-entropy) or "dlr", the difference of logits ratio
    `-(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3)` (sorted logits), which is
    invariant to shifting and positive scaling of the logits, so a saturated
    softmax (defensive distillation) cannot hide the gradient.

    `targeted=True` is APGD-T: `y` still holds the true labels, and for each
    of the `target_classes` classes with the highest clean logits other than
    `y` (in order) the targeted DLR loss
    `-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)` is maximized (`loss`
    must be "dlr"), each time only on the images not fooled yet.

    Args:
        model: A `keras.Model` or any callable mapping a float32 NHWC batch to logits.
        x: Image batch [N, H, W, C] inside `clip`.
        y: True int labels [N]; defaults to the model's own predictions.
        eps: Budget (>= 0) in the chosen norm.
        norm: "inf" (or `np.inf`) or "l2" (or `2`).
        loss: "ce" or "dlr" (DLR needs >= 3 classes; targeted DLR >= 4).
        steps: Iterations per run (>= 1; the paper uses 100).
        restarts: Random restarts (>= 1), per target class when targeted.
        seed: Int seed of the random starts (deterministic when given).
        targeted: APGD-T over the top `target_classes` other classes.
        target_classes: Number of target classes tried by APGD-T (>= 1).
        clip: `(min, max)` valid image range, or None for unbounded.
        return_fooled: Also return a bool array [N]: images misclassified at the returned point.

    Returns:
        The adversarial batch, float32, same shape and type (NumPy or tensor)
        as `x`: for each image the last point found that is misclassified,
        else the point of highest loss. With `return_fooled`, `(x_adv, fooled)`.

    Raises:
        ValueError: Bad `x`, `y`, `eps`, `norm`, `loss`, `steps`, `restarts`,
            `target_classes` or `clip`, or too few classes for the loss.
        TypeError: Non-numeric arguments.
    """
    norm = V.check_norm(norm)
    eps = V.check_eps(eps, norm=norm, clip=clip)
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"`loss` must be one of {LOSSES}, got {loss!r}.")
    if targeted and loss != "dlr":
        raise ValueError(f"APGD-T (`targeted=True`) uses the targeted DLR loss: pass loss='dlr', got {loss!r}.")
    steps = V.check_positive_int(steps, "steps")
    restarts = V.check_positive_int(restarts, "restarts")
    target_classes = V.check_positive_int(target_classes, "target_classes")
    seed_base = _core.seed_tensor(seed).numpy()
    x_t, y_t, (lo, hi), as_numpy = _core.prepare(model, x, y, clip)
    num_classes = _core.num_classes_of(model, x_t)
    check_loss_classes(loss, num_classes, targeted)
    if targeted and target_classes > num_classes - 1:
        raise ValueError(f"`target_classes` must be at most num_classes - 1 = {num_classes - 1}, "
                         f"got {target_classes}.")
    x_np, y_np = x_t.numpy(), y_t.numpy()
    x_adv = x_np.copy()
    clean_logits = _core.logits_of(model, x_t).numpy()
    fooled = clean_logits.argmax(axis=1) != y_np
    if eps == 0.0:
        return _finish(x_adv, fooled, as_numpy, return_fooled)
    fn = _core.compiled(model, "apgd", (norm, loss, bool(targeted)), _build_apgd)
    intervals = checkpoint_intervals(steps)
    ranks = range(2, target_classes + 2) if targeted else [None]
    order = np.argsort(-clean_logits, axis=1) if targeted else None
    run_index = 0
    for rank in ranks:
        for _ in range(restarts):
            todo = np.flatnonzero(~fooled)
            if todo.size == 0:  # never run a model on an empty batch
                return _finish(x_adv, fooled, as_numpy, return_fooled)
            target = order[todo, rank - 1] if targeted else y_np[todo]
            seed_run = tf.constant([seed_base[0], (int(seed_base[1]) + 7919 * run_index) & 0x7FFFFFFF],
                                   tf.int32)
            run_index += 1
            out, hit = fn(tf.constant(x_np[todo]), tf.constant(y_np[todo]), tf.constant(target, tf.int32),
                          _core.f32(eps), steps, intervals, _core.f32(lo), _core.f32(hi), seed_run)
            out, hit = out.numpy(), hit.numpy()
            # A later run only replaces the point of an image it fooled (or the first run's point).
            replace = hit if run_index > 1 else np.ones_like(hit)
            x_adv[todo[replace]] = out[replace]
            fooled[todo[hit]] = True
    return _finish(x_adv, fooled, as_numpy, return_fooled)


def _finish(x_adv, fooled, as_numpy, return_fooled):
    out = _core.finish(tf.constant(x_adv), as_numpy)
    return (out, fooled) if return_fooled else out
