"""Projected Gradient Descent (Madry et al., 2018), L-inf and L2."""

from tfdefend.attacks import _core
from tfdefend.attacks._entry import attack_doc, gradient_attack


@attack_doc
def pgd(model, x, y=None, *, eps, step_size, steps, norm="inf", random_start=False, seed=None,
        targeted=False, clip=(0.0, 1.0)):
    """Projected gradient ascent of the cross-entropy inside an L-inf or L2 ball.

    L-inf steps are `step_size * sign(grad)`, L2 steps are
    `step_size * grad / ||grad||_2` (per sample). After every step the
    iterate is projected onto the ball around `x` (L-inf: clip to
    `[x - eps, x + eps]`; L2: rescale `delta` to norm `<= eps`, shrunk by a
    relative 1e-5 so the bound holds in float32) and then into `clip`.

    The compiled kernel is cached per (model, norm, targeted, random_start):
    unrolled chunks of 8, 4, 2 and 1 steps (no `tf.while_loop`, whose body
    oneDNN may leave with slow backward kernels), each traced once per input
    shape; changing `eps`, `step_size`, `y` or `seed` does not retrace, and
    a new `steps` traces at most the chunk sizes not used yet.

    Args:
        {model_x_y}
        eps: Budget (>= 0) in the chosen norm.
        step_size: Size of each step (>= 0).
        steps: Number of iterations (>= 1).
        norm: "inf" (or `np.inf`) or "l2" (or `2`).
        random_start: Start from a uniform random point of the ball (L-inf:
            uniform per pixel; L2: uniform in the ball).
        seed: Int seed of the random start (deterministic when given).
        {targeted_clip}

    Returns:
        {returns} `eps=0` returns `x`.

    Raises:
        {raises: `norm`}
    """
    return gradient_attack(model, x, y, eps=eps, step_size=step_size, steps=steps, norm=norm,
                           targeted=targeted, clip=clip, default_step_size=False,
                           checks={"seed": _core.check_seed}, use_random_start=bool(random_start), seed=seed)
