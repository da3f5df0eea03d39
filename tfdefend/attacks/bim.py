"""Basic Iterative Method / I-FGSM (Kurakin et al., 2017), on the cross-entropy or a logit margin."""

import tensorflow as tf

from tfdefend.attacks import _core
from tfdefend.attacks._entry import attack_doc, gradient_attack
from tfdefend.attacks._loop import UnrolledLoop, as_kernel
from tfdefend.utils import validation as V

LOSSES = ("ce", "margin")


def margin_loss(logits, y, targeted=False):
    """Per-sample logit margin that the attack ascends (Carlini & Wagner's `f` without the clamp).

    Untargeted: `max_{j != y} z_j - z_y` (positive once `y` is no longer
    the top class). Targeted (`y` the target): `z_y - max_{j != y} z_j`.
    It is computed on the logits, so it does not saturate with the softmax.

    Args:
        logits: float32 `[N, classes]`.
        y: int32 labels `[N]` (target classes when `targeted`).
        targeted: Whether `y` holds target classes.

    Returns:
        float32 `[N]`.
    """
    z_y = tf.gather(logits, y, batch_dims=1)
    is_y = tf.one_hot(y, tf.shape(logits)[-1], on_value=True, off_value=False)
    z_other = tf.reduce_max(tf.where(is_y, tf.constant(-float("inf"), logits.dtype), logits), axis=-1)
    return z_y - z_other if targeted else z_other - z_y


def _build_margin(model, targeted):
    """The L-inf sign-gradient loop on `margin_loss` for one model: `run(x, y, eps, step_size, steps, lo, hi)`.

    The steps run as unrolled compiled chunks (`_loop.UnrolledLoop`), traced once per input shape.
    """

    def step(i, x_adv, constants):
        x, y, eps, step_size, lo, hi = constants
        with tf.GradientTape() as tape:
            tape.watch(x_adv)
            loss = tf.reduce_sum(margin_loss(_core.logits_of(model, x_adv), y, targeted))
        grad = tape.gradient(loss, x_adv, unconnected_gradients=_core.ZERO)
        return _core.project(x_adv + step_size * tf.sign(grad), x, eps, "inf", lo, hi)

    loop = UnrolledLoop(step)

    def run(x, y, eps, step_size, steps, lo, hi):
        return loop(x, (x, y, eps, step_size, lo, hi), int(steps))

    return as_kernel(run, loop)


def _check_loss(loss):
    return V.check_choice(loss, "loss", LOSSES)


@attack_doc
def bim(model, x, y=None, *, eps, step_size=None, steps=10, targeted=False, clip=(0.0, 1.0), loss="ce"):
    """Iterative FGSM in the L-inf ball, starting from `x` (no random start).

    Each step is `x_adv = clip(proj(x_adv + step_size * sign(grad)))`, where
    `proj` clips to `[x - eps, x + eps]` and `grad` is the gradient of the
    attack loss w.r.t. the input. With `steps=1, step_size=eps` it is FGSM.

    `loss="margin"` ascends the logit margin `max_{j != y} z_j - z_y`
    (`margin_loss`) instead of the cross-entropy. Use it against a model
    whose softmax is saturated (defensive distillation, logits scaled up):
    there the cross-entropy gradient underflows to exactly zero, `sign(0)`
    does not move the image, and a CE attack reports robustness that is
    only gradient masking; the margin's gradient is the difference of two
    logit gradients and does not vanish.

    Args:
        {model_x_y}
        eps: L-inf budget (>= 0).
        step_size: Per-step size; default `eps / steps` (the I-FGSM choice
            `alpha = eps / T`, so the ball edge is reachable in `steps` steps).
        steps: Number of iterations (>= 1).
        targeted: Whether `y` holds target classes (CE: descend the target's
            cross-entropy; margin: ascend `z_t - max_{j != t} z_j`).
        clip: `(min, max)` valid image range, or None for unbounded.
        loss: `"ce"` (the default: softmax cross-entropy) or `"margin"`.

    Returns:
        {returns} `eps=0` returns `x`.

    Raises:
        ValueError: Bad `x`, `y`, `eps`, `step_size`, `steps`, `clip` or
            `loss`, or `targeted` without `y`.
        TypeError: Non-numeric arguments, or a `loss` that is not a str.
    """
    loss = _check_loss(loss)
    return gradient_attack(model, x, y, eps=eps, step_size=step_size, steps=steps, norm="inf",
                           targeted=targeted, clip=clip, run=None if loss == "ce" else _run_margin)


def _run_margin(model, x, y, bounds, *, eps, step_size, steps, norm, targeted):
    """The cached compiled margin loop on validated inputs (`norm` is always "inf")."""
    del norm
    if eps == 0.0:
        return tf.identity(x)
    fn = _core.compiled(model, "bim_margin", (bool(targeted),), _build_margin)
    lo, hi = bounds
    return fn(x, y, _core.f32(eps), _core.f32(step_size), int(steps), _core.f32(lo),
              _core.f32(hi))
