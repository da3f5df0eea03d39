"""Fast Gradient Sign Method (Goodfellow et al., 2015) and its L2 variant."""

from tfdefend.attacks._entry import gradient_attack


def fgsm(model, x, y=None, *, eps, norm="inf", targeted=False, clip=(0.0, 1.0)):
    """One-step fast gradient attack.

    L-inf: `x_adv = clip(x + eps * sign(grad_x CE(model(x), y)))`; with
    `norm="l2"` the step is `eps * grad / ||grad||_2` per sample (fast
    gradient method). With `targeted=True` the step goes down the loss of
    the target class `y` instead of up the loss of the true class.

    Args:
        model: A `keras.Model` or any callable mapping a float32 NHWC batch to
            logits.
        x: Image batch [N, H, W, C] inside `clip` (NumPy array or tensor).
        y: Int labels [N]; defaults to the model's own predictions. Target
            classes when `targeted=True` (then required).
        eps: Perturbation budget (>= 0) in the units of `x`.
        norm: "inf" (or `np.inf`) or "l2" (or `2`).
        targeted: Whether `y` holds target classes.
        clip: `(min, max)` valid image range, or None for unbounded.

    Returns:
        The adversarial batch, float32, same shape as `x`: a NumPy array if
        `x` was not a `tf.Tensor`, else a `tf.Tensor`. `eps=0` returns `x`.

    Raises:
        ValueError: Bad `x`, `y`, `eps`, `norm` or `clip`, or `targeted` without `y`.
        TypeError: Non-numeric arguments.
    """
    return gradient_attack(model, x, y, eps=eps, step_size=None, steps=1, norm=norm, targeted=targeted,
                           clip=clip)
