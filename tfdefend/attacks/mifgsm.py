"""Momentum Iterative FGSM (Dong et al., 2018)."""

from tfdefend.attacks._entry import attack_doc, gradient_attack
from tfdefend.utils import validation as V


@attack_doc
def mifgsm(model, x, y=None, *, eps, step_size=None, steps=10, decay=1.0, targeted=False,
           clip=(0.0, 1.0)):
    """MI-FGSM in the L-inf ball.

    Accumulates `g = decay * g + grad / ||grad||_1` (L1 norm per sample),
    steps `x_adv += step_size * sign(g)`, and projects onto the L-inf ball
    around `x` and into `clip` after every step.

    Args:
        {model_x_y}
        eps: L-inf budget (>= 0).
        step_size: Per-step size; default `eps / steps` as in the paper.
        steps: Number of iterations (>= 1).
        decay: Momentum decay factor mu (>= 0); 0 gives I-FGSM.
        {targeted_clip}

    Returns:
        {returns} `eps=0` returns `x`.

    Raises:
        {raises: `decay`}
    """
    return gradient_attack(model, x, y, eps=eps, step_size=step_size, steps=steps, norm="inf",
                           targeted=targeted, clip=clip, checks={"decay": _check_decay}, momentum=True,
                           decay=decay)


def _check_decay(decay):
    return V.check_float(decay, "decay", lo=0.0)
