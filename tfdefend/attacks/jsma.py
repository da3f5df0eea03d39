"""Jacobian-based Saliency Map Attack (Papernot et al., 2016), pairwise saliency."""

import math

import numpy as np
import tensorflow as tf

from tfdefend.attacks import _core
from tfdefend.attacks._entry import attack_doc
from tfdefend.utils import validation as V

# Budget (in float32 elements) of one chunk's pairwise [chunk, D, D] score tensor.
_PAIR_BUDGET = 2 ** 24


def _build(model, increase):
    """Compiles the JSMA loop for one model and one direction."""

    @tf.function(reduce_retracing=True)
    def run(x, target, theta, max_iters, lo, hi):
        n = tf.shape(x)[0]
        d = int(np.prod(x.shape[1:]))
        flat = tf.reshape(x, [n, d])
        # Search domain: features that can still move in the chosen direction.
        domain = tf.cast(flat < hi if increase else flat > lo, tf.float32)
        off_diag = 1.0 - tf.eye(d)
        sign = 2.0 if increase else -2.0

        def cond(i, x_cur, domain, active):
            return tf.logical_and(i < max_iters, tf.reduce_any(active))

        def body(i, x_cur, domain, active):
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(x_cur)
                logits = _core.logits_of(model, x_cur)
                z_target = tf.reduce_sum(tf.gather(logits, target, batch_dims=1))
                z_all = tf.reduce_sum(logits)
            g_all = tf.reshape(tape.gradient(z_all, x_cur, unconnected_gradients=_core.ZERO), [n, d])
            g_t = tf.reshape(tape.gradient(z_target, x_cur, unconnected_gradients=_core.ZERO), [n, d])
            del tape
            g_o = g_all - g_t
            reached = tf.equal(tf.argmax(logits, -1, output_type=tf.int32), target)
            # Push features outside the domain out of every admissible pair (cleverhans trick).
            out = 1.0 - domain
            t_tmp = g_t - sign * out * tf.reduce_max(tf.abs(g_t), axis=1, keepdims=True)
            o_tmp = g_o + sign * out * tf.reduce_max(tf.abs(g_o), axis=1, keepdims=True)
            t_sum = t_tmp[:, :, None] + t_tmp[:, None, :]
            o_sum = o_tmp[:, :, None] + o_tmp[:, None, :]
            if increase:
                mask = tf.logical_and(t_sum > 0, o_sum < 0)
            else:
                mask = tf.logical_and(t_sum < 0, o_sum > 0)
            scores = tf.cast(mask, tf.float32) * (-t_sum * o_sum) * off_diag
            scores = tf.reshape(scores, [n, d * d])
            best = tf.argmax(scores, axis=1, output_type=tf.int32)
            has_pair = tf.reduce_max(scores, axis=1) > 0
            active = tf.logical_and(tf.logical_and(active, tf.logical_not(reached)), has_pair)
            p1 = tf.one_hot(best % d, d)
            p2 = tf.one_hot(best // d, d)
            to_mod = (p1 + p2) * tf.cast(active, tf.float32)[:, None]
            flat_cur = tf.reshape(x_cur, [n, d]) + to_mod * theta
            flat_cur = tf.clip_by_value(flat_cur, lo, hi)
            return i + 1, tf.reshape(flat_cur, tf.shape(x)), domain * (1.0 - to_mod), active

        active0 = tf.ones([n], tf.bool)
        _, x_adv, _, _ = tf.while_loop(cond, body, (tf.constant(0), x, domain, active0))
        return x_adv

    return run


@attack_doc
def jsma(model, x, y=None, *, theta=1.0, gamma=0.1, clip=(0.0, 1.0), seed=None):
    """Targeted JSMA with pairwise saliency on the logits (cleverhans style).

    Each iteration picks the pair of search-domain features `(p, q)` that
    maximizes `-(a_p + a_q) * (b_p + b_q)` subject to `a_p + a_q > 0` and
    `b_p + b_q < 0` (with `a` the gradient of the target logit and `b` the
    gradient of the sum of the other logits; signs flipped when `theta < 0`)
    and adds `theta` to both, clipped to `clip`. Modified features and
    features already at the bound they move toward leave the search domain.
    A sample stops when the model predicts the target, when no admissible
    pair is left, or after `floor(gamma * D / 2)` iterations, so at most
    `gamma * D` features change (D = H * W * C).

    The batch is processed in chunks so the pairwise [chunk, D, D] scores stay
    under ~64 MB (D = 784 gives chunks of 27 images).

    Args:
        model: A `keras.Model` or any callable mapping a float32 NHWC batch to
            logits.
        x: Image batch [N, H, W, C] inside `clip`.
        y: TARGET classes [N]. If None, a random target different from the
            model's prediction is drawn per sample with `seed`.
        theta: Change applied to each chosen feature (non-zero; > 0 increases
            features).
        gamma: Maximum fraction of features changed, in (0, 1].
        clip: `(min, max)` valid image range; must be finite.
        seed: Int seed for the random targets (None: drawn from NumPy's global RNG,
            so `tfdefend.utils.set_seed` makes it repeatable).

    Returns:
        {returns}

    Raises:
        ValueError: Bad `x`, `y`, `theta`, `gamma` or `clip`.
        TypeError: Non-numeric arguments.
    """
    if isinstance(theta, bool) or not isinstance(theta, (int, float, np.floating, np.integer)):
        raise TypeError(f"`theta` must be a real number, got {type(theta).__name__}.")
    theta = float(theta)
    if not math.isfinite(theta) or theta == 0.0:
        raise ValueError(f"`theta` must be a finite non-zero number, got {theta}.")
    gamma = V.check_float(gamma, "gamma", lo=0.0, lo_open=True)
    if gamma > 1.0:
        raise ValueError(f"`gamma` must be in (0, 1], got {gamma}.")
    lo, hi = V.check_clip(clip)
    if not _core.is_finite_clip((lo, hi)):
        raise ValueError(f"`clip` must be a finite (min, max) range for jsma, got {clip!r}.")
    seed = V.check_seed(seed)
    x_t, as_numpy = _core.check_images(model, x, clip)
    n = int(x_t.shape[0])
    d = int(np.prod(x_t.shape[1:]))
    if y is None:
        pred = _core.predict_labels(model, x_t).numpy()
        num_classes = _core.num_classes_of(model, x_t)
        if num_classes < 2:
            raise ValueError("jsma needs a model with at least 2 classes to draw targets.")
        rng = np.random.default_rng(_core.draw_seed() if seed is None else seed)
        target = ((pred + rng.integers(1, num_classes, size=n)) % num_classes).astype(np.int32)
    else:
        target = V.check_labels(y, n, num_classes=_core.num_classes_of(model, x_t)).numpy()
    max_iters = int(math.floor(gamma * d / 2))
    if max_iters == 0:
        return _core.finish(x_t, as_numpy)

    fn = _core.compiled(model, "jsma", (theta > 0,), _build)
    chunk = max(1, min(n, _PAIR_BUDGET // (d * d)))
    args = (_core.f32(theta), tf.constant(max_iters, tf.int32), _core.f32(lo), _core.f32(hi))
    outputs = []
    for start in range(0, n, chunk):
        xs, ts = x_t[start:start + chunk], target[start:start + chunk]
        pad = chunk - int(xs.shape[0])
        if pad:  # pad the last chunk so every call has the same shape (no retracing)
            xs = tf.concat([xs, tf.repeat(xs[-1:], pad, axis=0)], 0)
            ts = np.concatenate([ts, np.repeat(ts[-1:], pad)])
        out = fn(xs, tf.constant(ts, tf.int32), *args)
        outputs.append(out[:chunk - pad])
    return _core.finish(tf.concat(outputs, 0), as_numpy)
