"""Carlini & Wagner L2 attack (Carlini and Wagner, 2017)."""

import functools

import numpy as np
import tensorflow as tf

from tfdefend.attacks import _core
from tfdefend.attacks._entry import attack_doc, run_attack
from tfdefend.attacks._loop import UnrolledLoop, as_kernel
from tfdefend.utils import validation as V

_BETA1, _BETA2, _ADAM_EPS = 0.9, 0.999, 1e-8
_TANH_SHRINK = 1.0 - 1e-6  # keeps atanh finite for pixels exactly on the clip bounds
_BIG = 1e10


def _build(model, targeted, bounded):
    """The inner optimization (one binary-search step) for one model.

    Returns `run(x, y, const, lr, steps, confidence, lo, hi, best_l2, best_adv)` (`steps` a Python int):
    the Adam steps run as unrolled compiled chunks (`_loop.UnrolledLoop`), traced once per input shape.
    """

    def to_image(w, lo, hi):
        if bounded:
            return (tf.tanh(w) + 1.0) * 0.5 * (hi - lo) + lo
        return w

    def step(t, state, constants):
        w, m, v, succeeded, best_l2, best_adv = state
        x, y, const, lr, confidence, lo, hi = constants
        with tf.GradientTape() as tape:
            tape.watch(w)
            x_new = to_image(w, lo, hi)
            logits = _core.logits_of(model, x_new)
            onehot = tf.one_hot(y, tf.shape(logits)[-1], dtype=tf.float32)
            real = tf.reduce_sum(onehot * logits, axis=-1)
            other = tf.reduce_max(logits - onehot * _BIG, axis=-1)
            if targeted:
                f = tf.maximum(other - real + confidence, 0.0)
            else:
                f = tf.maximum(real - other + confidence, 0.0)
            l2 = tf.reduce_sum(tf.square(x_new - x), axis=list(range(1, x.shape.rank)))
            loss = tf.reduce_sum(l2 + const * f)
        grad = tape.gradient(loss, w, unconnected_gradients=_core.ZERO)
        # Success at the current iterate (before the update), with the confidence margin.
        adjusted = logits - confidence * onehot if targeted else logits + confidence * onehot
        predicted = tf.argmax(adjusted, -1, output_type=tf.int32)
        success = tf.equal(predicted, y) if targeted else tf.not_equal(predicted, y)
        succeeded = tf.logical_or(succeeded, success)
        improved = tf.logical_and(success, l2 < best_l2)
        best_l2 = tf.where(improved, l2, best_l2)
        bshape = tf.concat([tf.shape(x)[:1], tf.ones([x.shape.rank - 1], tf.int32)], 0)
        best_adv = tf.where(tf.reshape(improved, bshape), x_new, best_adv)
        # Adam, written out; element-wise, so every sample has its own state.
        step_number = tf.cast(t + 1, tf.float32)
        m = _BETA1 * m + (1.0 - _BETA1) * grad
        v = _BETA2 * v + (1.0 - _BETA2) * tf.square(grad)
        m_hat = m / (1.0 - tf.pow(_BETA1, step_number))
        v_hat = v / (1.0 - tf.pow(_BETA2, step_number))
        w = w - lr * m_hat / (tf.sqrt(v_hat) + _ADAM_EPS)
        return w, m, v, succeeded, best_l2, best_adv

    loop = UnrolledLoop(step)

    @tf.function(reduce_retracing=True)
    def start(x, lo, hi):
        if bounded:
            return tf.atanh(tf.clip_by_value((x - lo) / (hi - lo) * 2.0 - 1.0, -_TANH_SHRINK, _TANH_SHRINK))
        return tf.identity(x)

    def run(x, y, const, lr, steps, confidence, lo, hi, best_l2, best_adv):
        w = start(x, lo, hi)
        state = (w, tf.zeros_like(w), tf.zeros_like(w), tf.zeros(tf.shape(x)[:1], tf.bool), best_l2, best_adv)
        _, _, _, succeeded, best_l2, best_adv = loop(state, (x, y, const, lr, confidence, lo, hi), steps)
        return best_l2, best_adv, succeeded

    return as_kernel(run, loop, start)


@attack_doc
def carlini_wagner_l2(model, x, y=None, *, targeted=False, confidence=0.0, initial_const=1e-2,
                      binary_search_steps=5, steps=100, learning_rate=5e-2, clip=(0.0, 1.0)):
    """C&W L2: minimizes `||delta||_2^2 + c * f(x + delta)` in tanh space.

    `f` is the margin loss on logits (`max(z_y - max_{i!=y} z_i + kappa, 0)`
    untargeted, `max(max_{i!=t} z_i - z_t + kappa, 0)` targeted). The
    variable `w` lives in tanh space (`x = (tanh(w) + 1) / 2 * (hi - lo) + lo`,
    so the box constraint holds by construction; with `clip=None` the
    variable is `x` itself) and is optimized by a vectorized, hand-written
    Adam (per-sample state; reset every binary-search step). The constant `c`
    is binary-searched per sample (x10 while never successful, bisection
    after the first success). The smallest-L2 successful example seen for each
    sample is kept; samples never successful are returned unchanged.

    The inner optimization is cached and compiled (unrolled chunks of Adam
    steps, traced once per input shape); the binary search runs in Python
    around it.

    Args:
        {model_x_y}
        targeted: Whether `y` holds target classes.
        confidence: Margin kappa (>= 0).
        initial_const: Starting `c` (> 0); 1e-2 as in cleverhans.
        binary_search_steps: Number of outer steps over `c` (>= 1).
        steps: Adam iterations per binary-search step (>= 1).
        learning_rate: Adam learning rate (> 0). The default 5e-2 suits the
            default 100 steps (cleverhans uses 5e-3 with 1,000 steps); at 1e-2
            100 steps leave C&W with larger perturbations than DeepFool.
        clip: `(min, max)` valid image range, or None for unbounded. With an
            infinite bound (e.g. `(0, inf)`) the optimization is unbounded
            and the result is clipped into the range at the end.

    Returns:
        {returns}

    Raises:
        ValueError: Bad `x`, `y`, `clip` or hyper-parameters, or `targeted`
            without `y`.
        TypeError: Non-numeric arguments.
    """
    confidence = V.check_float(confidence, "confidence", lo=0.0)
    initial_const = V.check_float(initial_const, "initial_const", lo=0.0, lo_open=True)
    learning_rate = V.check_float(learning_rate, "learning_rate", lo=0.0, lo_open=True)
    binary_search_steps = V.check_positive_int(binary_search_steps, "binary_search_steps")
    steps = V.check_positive_int(steps, "steps")
    return run_attack(model, x, y, clip, targeted, functools.partial(
        _binary_search, model, targeted=targeted, confidence=confidence, initial_const=initial_const,
        binary_search_steps=binary_search_steps, steps=steps, learning_rate=learning_rate))


def _binary_search(model, x_t, y_t, bounds, *, targeted, confidence, initial_const, binary_search_steps,
                   steps, learning_rate):
    """The binary search over `c` around the compiled inner optimization, on validated inputs."""
    lo, hi = bounds
    bounded = _core.is_finite_clip((lo, hi))
    fn = _core.compiled(model, "carlini_wagner_l2", (bool(targeted), bounded), _build)

    n = int(x_t.shape[0])
    lower = np.zeros(n, np.float32)
    upper = np.full(n, _BIG, np.float32)
    const = np.full(n, initial_const, np.float32)
    best_l2 = tf.fill([n], tf.constant(np.inf, tf.float32))
    best_adv = tf.identity(x_t)
    args = (tf.constant(learning_rate, tf.float32), steps,
            _core.f32(confidence), _core.f32(lo if bounded else 0.0), _core.f32(hi if bounded else 1.0))
    for _ in range(binary_search_steps):
        best_l2, best_adv, succeeded = fn(x_t, y_t, tf.constant(const), *args, best_l2, best_adv)
        ok = succeeded.numpy()
        upper = np.where(ok, np.minimum(upper, const), upper)
        lower = np.where(ok, lower, np.maximum(lower, const))
        found = upper < _BIG / 10
        const = np.where(found, (lower + upper) / 2.0, const * 10.0).astype(np.float32)
    x_adv = tf.clip_by_value(best_adv, lo, hi)  # also enforces a half-open clip such as (0, inf)
    return x_adv
