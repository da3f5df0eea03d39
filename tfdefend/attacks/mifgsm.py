"""Momentum Iterative FGSM (Dong et al., 2018)."""

from tfdefend.attacks._entry import gradient_attack
from tfdefend.utils import validation as V


def mifgsm(model, x, y=None, *, eps, step_size=None, steps=10, decay=1.0, targeted=False,
           clip=(0.0, 1.0)):
    """MI-FGSM in the L-inf ball.

    Accumulates `g = decay * g + grad / ||grad||_1` (L1 norm per sample),
    steps `x_adv += step_size * sign(g)`, and projects onto the L-inf ball
    around `x` and into `clip` after every step.

    Args:
        model: A `keras.Model` or any callable mapping a float32 NHWC batch to
            logits.
        x: Image batch [N, H, W, C] inside `clip`.
        y: Int labels [N]; defaults to the model's own predictions. Target
            classes when `targeted=True` (then required).
        eps: L-inf budget (>= 0).
        step_size: Per-step size; default `eps / steps` as in the paper.
        steps: Number of iterations (>= 1).
        decay: Momentum decay factor mu (>= 0); 0 gives I-FGSM.
        targeted: Whether `y` holds target classes.
        clip: `(min, max)` valid image range, or None for unbounded.

    Returns:
        The adversarial batch, float32, same shape as `x` (NumPy in -> NumPy
        out, tensor in -> tensor out). `eps=0` returns `x`.

    Raises:
        ValueError: Bad `x`, `y`, `eps`, `step_size`, `steps`, `decay` or
            `clip`, or `targeted` without `y`.
        TypeError: Non-numeric arguments.
    """
    return gradient_attack(model, x, y, eps=eps, step_size=step_size, steps=steps, norm="inf",
                           targeted=targeted, clip=clip, checks={"decay": _check_decay}, momentum=True,
                           decay=decay)


def _check_decay(decay):
    return V.check_float(decay, "decay", lo=0.0)
