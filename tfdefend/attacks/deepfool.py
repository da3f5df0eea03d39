"""Multi-class L2 DeepFool (Moosavi-Dezfooli et al., 2016), batched."""

import tensorflow as tf

from tfdefend.attacks import _core
from tfdefend.attacks._loop import UnrolledLoop, as_kernel
from tfdefend.utils import validation as V

_EPS = 1e-8
MAX_UNROLLED_STEPS = 8  # Python-int `steps` up to this are unrolled (Deep Defense's 5); more: a while loop.
_R_EPS = 1e-4  # Carried over from the reference implementation: step a hair past the boundary.


def deepfool_perturbation(model, x, steps=50, overshoot=0.02, num_candidates=10, clip=None, labels=None,
                          compact=True, second_order_steps=None):
    """The DeepFool perturbation as a pure, differentiable TF computation.

    Tensors in, tensor out; usable eagerly, inside `tf.function`, and inside a
    training graph (e.g. a Deep Defense regularizer that unrolls DeepFool and
    back-propagates into the model weights): the loop is a `tf.while_loop`,
    the `num_candidates - 1` gradients of the logit differences `z_k - z_0`
    come from one persistent `GradientTape` (a static Python loop), and
    nothing is wrapped in `stop_gradient` except what the algorithm needs
    (the integer candidate classes and the per-sample "still active" mask,
    which carry no gradient anyway).

    Per iteration and per still-active sample: with `f_k = z_k - z_0` and
    `w_k = grad (z_k - z_0)` over the candidates (top-`num_candidates`
    classes of the clean logits, `z_0` the clean prediction), pick
    `l = argmin_k |f_k| / ||w_k||_2` and add
    `r = (|f_l| + 1e-4) / ||w_l||^2 * w_l`. A sample stops being updated once
    the model's prediction at `x + (1 + overshoot) * r_total` differs from its
    clean prediction; the loop ends early when no sample is active. With
    `compact=True` each iteration runs the model on the still-active rows
    only (gathered, then scattered back): the same result at the cost of the
    rows that still need it (on Fashion-MNIST about half of 5 iterations'
    rows). `compact=False` keeps static shapes, which XLA needs. A Python
    int `steps` of at most 8 is unrolled (cheaper to differentiate than a
    while loop); more, or a tensor, runs a `tf.while_loop`.

    With `labels`, a sample whose clean prediction differs from its label is
    instead pushed towards its label (targeted DeepFool, as Deep Defense
    does for misclassified training samples; Yan et al., 2018, reference
    code `forward_wrong`): each step crosses the linearized boundary between
    the current prediction `p` and the label `y` (`f = z_y - z_p`,
    `w = grad (z_y - z_p)`), and the sample stops once it is classified
    as `y`. Correctly classified samples get the untargeted perturbation
    above, so `labels=None` and labels equal to the predictions give the
    same result.

    Args:
        model: A `keras.Model` or callable returning logits.
        x: float32 tensor [N, H, W, C].
        steps: Maximum number of iterations (int or int32 scalar tensor).
        overshoot: Overshoot factor (float or float32 scalar tensor).
        num_candidates: Static Python int >= 2 (clamped to the number of classes).
        clip: Optional `(lo, hi)` (floats or tensors); when given, iterates are
            clipped into it before being fed to the model.
        labels: Optional int labels [N] (tensor or array); see above.
        compact: Static bool; whether iterations run on the active rows only.
        second_order_steps: Static int or None. None (exact): the
            perturbation's gradient flows through the boundary normals `w`
            of every iteration, i.e. through input gradients (a double
            backward pass per iteration). An int `n`: only the first `n`
            iterations' normals carry gradient, later ones are held
            constant (`stop_gradient`; their gradient flows through the
            logit differences `f` and the iterates only) -- an approximation
            that skips those double backward passes; the value is
            unchanged. Between 1 and `steps - 1` it needs an unrolled loop
            (an int `steps` <= 8).

    Returns:
        The perturbation `(1 + overshoot) * r_total`, float32, shape of `x`
        (not clipped; the caller clips `x + perturbation`).
    """
    return _deepfool(model, x, steps, overshoot, num_candidates, clip, labels, compact, second_order_steps)[0]


def check_second_order_steps(second_order_steps, steps, steps_name="steps"):
    """Checks `second_order_steps` against the loop it applies to; returns it (None: every iteration).

    Between 1 and `steps - 1` it needs an unrolled loop, i.e. an int `steps`
    <= `MAX_UNROLLED_STEPS` (a while loop treats every iteration alike).

    Raises:
        ValueError: Such a value with a `steps` that runs a while loop; the
            message names `second_order_steps` and `steps_name`.
    """
    if second_order_steps is None:
        return None
    second_order_steps = int(second_order_steps)
    int_steps = isinstance(steps, int) and not isinstance(steps, bool)
    if int_steps and second_order_steps >= steps:
        return None  # every iteration
    if second_order_steps != 0 and not (int_steps and steps <= MAX_UNROLLED_STEPS):
        raise ValueError(f"`second_order_steps` between 1 and `{steps_name}` - 1 needs an int `{steps_name}` "
                         f"<= {MAX_UNROLLED_STEPS} (an unrolled loop), got {steps_name}={steps!r}.")
    return second_order_steps


def _deepfool(model, x, steps, overshoot, num_candidates, clip, labels, compact, second_order_steps=None):
    """`deepfool_perturbation`'s computation; returns `(perturbation, clean logits without gradient)`."""
    x = tf.convert_to_tensor(x, tf.float32)
    small = isinstance(steps, int) and not isinstance(steps, bool) and steps <= MAX_UNROLLED_STEPS
    unroll = steps if small else None
    second_order_steps = check_second_order_steps(second_order_steps, steps)
    if labels is not None:
        labels = tf.reshape(tf.cast(tf.stop_gradient(labels), tf.int32), [-1])
    loop = _DeepFoolLoop(model, x, overshoot, num_candidates, clip, labels, compact)
    # The first unrolled iteration runs the model on `x` itself (no clip): its logits are the clean ones.
    if not (clip is None and unroll is not None and compact):
        loop.rank(_core.logits_of(model, x))
    state = (tf.constant(0), tf.zeros_like(x), tf.ones(tf.shape(x)[:1], tf.bool))
    steps = tf.cast(steps, tf.int32)

    def cond(i, r_tot, active):
        return tf.logical_and(i < steps, tf.reduce_any(active))

    if unroll is not None:
        # A Python loop: its gradient keeps each iteration's tensors as they are, where a while loop's
        # gradient stacks them. Compact iterations need no `tf.cond` (an idle one costs one row).
        for it in range(unroll):
            exact = second_order_steps is None or it < second_order_steps
            if compact:
                state = loop.body(*state, exact=exact)
            else:
                state = tf.cond(cond(*state), lambda s=state, e=exact: loop.body(*s, exact=e), lambda s=state: s)
        r_tot = state[1]
    else:  # `maximum_iterations` bounds the loop statically, which XLA needs to differentiate it.
        exact = second_order_steps is None or second_order_steps > 0
        _, r_tot, _ = tf.while_loop(cond, lambda *s: loop.body(*s, exact=exact), state,
                                    maximum_iterations=steps)
    return loop.overshoot_factor * r_tot, loop.found["logits0"]


def _closest_boundary_step(f, w, per_row):
    """DeepFool's step `r_i` of each row to its closest linearized boundary among the candidates.

    `f` [n, k-1] are the logit differences, `w` [n, k-1, ...] their input
    gradients; the floor keeps the gradient finite where w = 0 (e.g. a
    misclassified row that reached its label).
    """
    w_sq = tf.reduce_sum(tf.square(w), axis=list(range(2, w.shape.rank)))  # [n, k-1]
    w_norm = tf.sqrt(tf.maximum(w_sq, _EPS * _EPS))
    best = tf.argmin(tf.abs(f) / (w_norm + _EPS), axis=1, output_type=tf.int32)
    w_l = tf.gather(w, best, batch_dims=1)
    f_l = tf.gather(f, best, batch_dims=1)
    n_l = tf.gather(w_norm, best, batch_dims=1)
    return per_row((tf.abs(f_l) + _R_EPS) / (tf.square(n_l) + _EPS)) * w_l


class _DeepFoolLoop:
    """One DeepFool run's state: the clean ranking (`found`) and the loop body over the batch rows."""

    def __init__(self, model, x, overshoot, num_candidates, clip, labels, compact):
        self.model, self.x, self.clip, self.labels, self.compact = model, x, clip, labels, compact
        self.overshoot_factor = 1.0 + tf.cast(overshoot, tf.float32)
        self.num_candidates = int(num_candidates)
        # The clean ranking: candidates [N, k], label0 [N], wrong [N] (None without labels), logits0.
        self.found = {}

    def rank(self, logits0):
        k = min(self.num_candidates, int(logits0.shape[-1]))
        self.found["candidates"] = tf.stop_gradient(tf.math.top_k(logits0, k=k).indices)
        self.found["label0"] = self.found["candidates"][:, 0]
        # `wrong`: these samples are pushed towards `labels`.
        self.found["wrong"] = None if self.labels is None else tf.not_equal(self.found["label0"], self.labels)
        self.found["logits0"] = tf.stop_gradient(logits0)

    def per_row(self, v):
        """A per-row vector [n] shaped to broadcast against images [n, ...]."""
        return tf.reshape(v, tf.concat([tf.shape(v), tf.ones([self.x.shape.rank - 1], tf.int32)], 0))

    def step(self, x_i, rows, exact):
        """One DeepFool step on the rows `rows` of the batch (all rows when None): (still active, r_i)."""
        def take(t):
            return t if rows is None or t is None else tf.gather(t, rows)
        found = self.found
        with tf.GradientTape(persistent=self.num_candidates > 2) as tape:
            tape.watch(x_i)
            logits = _core.logits_of(self.model, x_i)
            if not found:  # the fused first iteration: every row, in order, at x
                self.rank(logits)
            k, wrong = int(found["candidates"].shape[-1]), found["wrong"]
            cand, label0_r, labels_r, wrong_r = (take(found["candidates"]), take(found["label0"]),
                                                 take(self.labels), take(wrong))
            pred = tf.stop_gradient(tf.argmax(logits, -1, output_type=tf.int32))
            if wrong is not None:  # misclassified rows: [current prediction, label, label, ...]
                targeted = tf.concat([pred[:, None], tf.tile(labels_r[:, None], [1, k - 1])], axis=1)
                cand = tf.where(wrong_r[:, None], targeted, cand)
            cand_logits = tf.gather(logits, cand, batch_dims=1)  # [n, k]
            f = cand_logits[:, 1:] - cand_logits[:, :1]  # [n, k-1]
            per_class = [tf.reduce_sum(f[:, j]) for j in range(k - 1)]
        w = tf.stack([tape.gradient(per_class[j], x_i, unconnected_gradients=_core.ZERO)
                      for j in range(k - 1)], axis=1)  # [n, k-1, ...]
        del tape
        if not exact:
            w = tf.stop_gradient(w)
        if wrong is None:
            still = tf.equal(pred, label0_r)
        else:
            still = tf.where(wrong_r, tf.not_equal(pred, labels_r), tf.equal(pred, label0_r))
        return still, _closest_boundary_step(f, w, self.per_row)

    def body(self, i, r_tot, active, exact=True):
        x_i = self.x + self.overshoot_factor * r_tot
        if self.clip is not None:
            x_i = tf.clip_by_value(x_i, self.clip[0], self.clip[1])
        if not self.compact:
            still, r_i = self.step(x_i, None, exact)
            active = tf.logical_and(active, still)
            return i + 1, r_tot + self.per_row(tf.cast(tf.stop_gradient(active), tf.float32)) * r_i, active
        rows = tf.reshape(tf.where(active), [-1])
        # Row 0 (masked out below) when no row is active: the model never runs on an empty batch.
        rows = tf.concat([rows, tf.zeros([1], rows.dtype)], 0)[:tf.maximum(tf.size(rows), 1)]
        still, r_i = self.step(tf.gather(x_i, rows), rows, exact)
        still = tf.logical_and(still, tf.gather(active, rows))
        kept = tf.boolean_mask(rows, still)
        r_tot = tf.tensor_scatter_nd_add(r_tot, kept[:, None], tf.boolean_mask(r_i, still))
        active = tf.tensor_scatter_nd_update(tf.zeros_like(active), kept[:, None], tf.ones_like(kept, tf.bool))
        return i + 1, r_tot, active


def deepfool_perturbation_and_logits(model, x, steps=5, overshoot=0.02, num_candidates=10, labels=None,
                                     compact=True, second_order_steps=None):
    """`(deepfool_perturbation(model, x, ..., clip=None), clean logits)`.

    The clean logits (inference mode, no gradient) are those DeepFool ranks
    its candidates by. With an int `steps` <= 8 and `compact=True` they come
    from DeepFool's first iteration, which runs the model on `x` anyway, so
    a caller that needs both (Deep Defense's regularizer) saves a forward
    pass; otherwise the model runs once more.
    """
    return _deepfool(model, x, steps, overshoot, num_candidates, None, labels, compact, second_order_steps)


def _build(model, num_candidates):
    """The attack's compiled DeepFool for one model: `run(x, steps, overshoot, lo, hi)` (`steps` a Python int).

    The clean ranking is one compiled call, the iterations unrolled compiled chunks (`_loop.UnrolledLoop`,
    not the while loop of `deepfool_perturbation`), stopping between chunks once no image is active.
    """

    def loop_for(x, overshoot, lo, hi, found):
        loop = _DeepFoolLoop(model, x, overshoot, num_candidates, (lo, hi), None, compact=True)
        loop.found.update(found, wrong=None)
        return loop

    @tf.function(reduce_retracing=True)
    def rank(x, overshoot, lo, hi):
        loop = loop_for(x, overshoot, lo, hi, {})
        loop.rank(_core.logits_of(model, x))
        return {key: loop.found[key] for key in ("candidates", "label0", "logits0")}

    def step(i, state, constants):
        x, overshoot, lo, hi, found = constants
        return loop_for(x, overshoot, lo, hi, found).body(i, *state)[1:]

    iterations = UnrolledLoop(step)

    def run(x, steps, overshoot, lo, hi):
        constants = (x, overshoot, lo, hi, rank(x, overshoot, lo, hi))
        state = (tf.zeros_like(x), tf.ones(tf.shape(x)[:1], tf.bool))
        r_tot, _ = iterations(state, constants, steps, until=lambda s: not bool(tf.reduce_any(s[1])))
        return tf.clip_by_value(x + (1.0 + overshoot) * r_tot, lo, hi)

    return as_kernel(run, iterations, rank)


def deepfool(model, x, *, steps=50, overshoot=0.02, num_candidates=10, clip=(0.0, 1.0)):
    """Untargeted minimal-L2 DeepFool attack.

    Args:
        model: A `keras.Model` or any callable mapping a float32 NHWC batch to
            logits.
        x: Image batch [N, H, W, C] inside `clip`.
        steps: Maximum number of iterations (>= 1).
        overshoot: Overshoot factor (>= 0).
        num_candidates: Number of top clean classes considered (>= 2).
        clip: `(min, max)` valid image range, or None for unbounded.

    Returns:
        `clip(x + (1 + overshoot) * r_total)`, float32, same shape as `x`
        (NumPy in -> NumPy out, tensor in -> tensor out). See
        `deepfool_perturbation` for the differentiable core.

    Raises:
        ValueError: Bad `x`, `steps`, `overshoot`, `num_candidates` or `clip`.
        TypeError: Non-numeric arguments.
    """
    steps = V.check_positive_int(steps, "steps")
    num_candidates = V.check_positive_int(num_candidates, "num_candidates", minimum=2)
    overshoot = V.check_float(overshoot, "overshoot", lo=0.0)
    lo, hi = V.check_clip(clip)
    x_t, as_numpy = _core.check_images(model, x, clip)
    _core.num_classes_of(model, x_t)  # raises unless the model returns [batch, classes] logits
    fn = _core.compiled(model, "deepfool", (num_candidates,), _build)
    x_adv = fn(x_t, steps, _core.f32(overshoot), _core.f32(lo), _core.f32(hi))
    return _core.finish(x_adv, as_numpy)
