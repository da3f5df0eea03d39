"""FAB-T (Croce & Hein, ICML 2020): targeted minimal-norm attack by projections on linearized boundaries."""

import numpy as np
import tensorflow as tf

from tfdefend.attacks import _core
from tfdefend.attacks._loop import UnrolledLoop, as_kernel
from tfdefend.utils import validation as V

ETA, ALPHA_MAX, BETA = 1.05, 0.1, 0.9  # overshoot, most weight on the original point, backward step
_BISECTION = 40


def _sum(t):
    return tf.reduce_sum(t, axis=list(range(1, t.shape.rank)))


def _expand(v):
    return v[:, None, None, None]


def project_on_boundary(point, w, r, lo, hi, norm):
    """The smallest step `d` (L-inf or L2) with `<w, d> = r` and `lo <= point + d <= hi`, per image.

    Solved by bisection on the one free parameter (L2: the Lagrange
    multiplier; L-inf: the step's largest coordinate). Where the box makes
    `r` unreachable, the step that gets closest is returned.
    """
    sign = tf.sign(r)
    # Room to move each pixel in the direction that raises sign(r) * <w, d>.
    up = tf.where(_expand(sign) * w >= 0, hi - point, point - lo)
    reach = tf.abs(w)
    target = tf.abs(r)
    low = tf.zeros_like(r)
    if norm == "inf":
        high = tf.reduce_max(tf.reshape(up, [tf.shape(up)[0], -1]), axis=1)

        def gain(t):
            return _sum(reach * tf.minimum(_expand(t), up))
    else:
        high = tf.fill(tf.shape(r), 1.0)
        for _ in range(30):  # grow the bracket until it reaches the target (or the box is exhausted)
            high = tf.where(_sum(reach * tf.minimum(_expand(high) * reach, up)) < target, 2.0 * high, high)

        def gain(lam):
            return _sum(reach * tf.minimum(_expand(lam) * reach, up))
    for _ in range(_BISECTION):
        mid = 0.5 * (low + high)
        short = gain(mid) < target
        low, high = tf.where(short, mid, low), tf.where(short, high, mid)
    size = _expand(high)
    magnitude = tf.minimum(size, up) if norm == "inf" else tf.minimum(size * reach, up)
    return _expand(sign) * tf.sign(w) * magnitude


def _build_fab(model, norm):
    def difference(x, y, target):
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = _core.logits_of(model, x)
            diff = tf.gather(logits, target, batch_dims=1) - tf.gather(logits, y, batch_dims=1)
            total = tf.reduce_sum(diff)
        fooled = tf.argmax(logits, -1, output_type=tf.int32) != y
        return diff, tape.gradient(total, x, unconnected_gradients=_core.ZERO), fooled

    def size(d):
        flat = tf.reshape(d, [tf.shape(d)[0], -1])
        return tf.reduce_max(tf.abs(flat), 1) if norm == "inf" else tf.norm(flat, axis=1)

    def step(i, state, constants):
        x_k, best, best_size = state
        x, y, target, lo, hi = constants
        diff, w, _ = difference(x_k, y, target)
        # Hyperplane of the linearized boundary: <w, z - x_k> = -diff.
        d_k = project_on_boundary(x_k, w, -diff, lo, hi, norm)
        d_0 = project_on_boundary(x, w, -diff - _sum(w * (x - x_k)), lo, hi, norm)
        n_k, n_0 = size(d_k), size(d_0)
        alpha = tf.minimum(n_k / tf.maximum(n_k + n_0, 1e-12), ALPHA_MAX)
        x_k = tf.clip_by_value((1.0 - _expand(alpha)) * (x_k + ETA * d_k) + _expand(alpha) * (x + ETA * d_0), lo, hi)
        _, _, fooled = difference(x_k, y, target)
        step_size = size(x_k - x)
        improved = tf.logical_and(fooled, step_size < best_size)
        best = tf.where(_expand(improved), x_k, best)
        best_size = tf.where(improved, step_size, best_size)
        # Once across the boundary, step back towards the original point.
        x_k = tf.where(_expand(fooled), (1.0 - BETA) * x + BETA * x_k, x_k)
        return x_k, best, best_size

    loop = UnrolledLoop(step)

    def run(x, y, target, steps, lo, hi):
        state = (x, x, tf.fill(tf.shape(y), float("inf")))
        _, best, best_size = loop(state, (x, y, target, lo, hi), steps)
        return best, best_size

    return as_kernel(run, loop)


def fab(model, x, y=None, *, eps=None, norm="inf", steps=100, target_classes=9, clip=(0.0, 1.0),
        return_norms=False):
    """FAB-T: for each of the top `target_classes` other classes, the smallest perturbation found.

    Each step linearizes `z_t - z_y` at the current point, projects both the
    current and the original point onto that hyperplane inside the image box
    (the smallest L-inf or L2 step), moves to the convex combination
    `(1 - a)(x_k + 1.05 d_k) + a (x + 1.05 d_0)` with
    `a = min(|d_k| / (|d_k| + |d_0|), 0.1)`, and after crossing the boundary
    steps back to `0.1 x + 0.9 x_k`. Targets are tried in order of the clean
    logits, each only on images without an adversarial within `eps` yet.

    Args:
        model: A `keras.Model` or any callable returning logits.
        x: Image batch [N, H, W, C] inside `clip`.
        y: True int labels [N]; defaults to the model's own predictions.
        eps: If given, the budget: images with an adversarial of norm <= eps
            are done and later targets skip them; the result is the original
            image where none within `eps` was found.
        norm: "inf" or "l2".
        steps: Iterations per target (>= 1; AutoAttack uses 100).
        target_classes: Number of target classes (>= 1).
        clip: `(min, max)` valid image range.
        return_norms: Also return the per-image norm of the perturbation found (inf: none).

    Returns:
        The adversarial batch (float32, NumPy or tensor as `x`); with
        `return_norms`, `(x_adv, norms)`.

    Raises:
        ValueError: Bad `x`, `y`, `eps`, `norm`, `steps`, `target_classes` or `clip`.
        TypeError: Non-numeric arguments.
    """
    norm = V.check_norm(norm)
    if eps is not None:
        eps = V.check_eps(eps, norm=norm, clip=clip)
    steps = V.check_positive_int(steps, "steps")
    target_classes = V.check_positive_int(target_classes, "target_classes")
    if clip is None:
        raise ValueError("`clip` must be a (min, max) range for fab: the projections keep to the box.")
    x_t, y_t, (lo, hi), as_numpy = _core.prepare(model, x, y, clip)
    num_classes = _core.num_classes_of(model, x_t)
    if target_classes > num_classes - 1:
        raise ValueError(f"`target_classes` must be at most num_classes - 1 = {num_classes - 1}, "
                         f"got {target_classes}.")
    x_np, y_np = x_t.numpy(), y_t.numpy()
    logits = _core.logits_of(model, x_t).numpy()
    order = np.argsort(-logits, axis=1)
    norms = np.where(logits.argmax(1) != y_np, 0.0, np.inf)
    x_adv = x_np.copy()
    fn = _core.compiled(model, "fab", (norm,), _build_fab)
    for rank in range(1, target_classes + 1):
        # Without a budget every target is tried on every image (the smallest wins); with one, only
        # images without an adversarial within eps.
        todo = np.flatnonzero(norms > (0.0 if eps is None else eps))
        if todo.size == 0:  # never run a model on an empty batch
            break
        target = order[todo, rank]  # the images in `todo` are classified as y = order[:, 0]
        best, size = fn(tf.constant(x_np[todo]), tf.constant(y_np[todo]), tf.constant(target, tf.int32),
                        steps, _core.f32(lo), _core.f32(hi))
        best, size = best.numpy(), size.numpy()
        better = size < norms[todo]
        x_adv[todo[better]], norms[todo[better]] = best[better], size[better]
    if eps is not None:  # keep only what is within the budget
        outside = norms > eps
        x_adv[outside] = x_np[outside]
    out = _core.finish(tf.constant(x_adv), as_numpy)
    return (out, norms) if return_norms else out
