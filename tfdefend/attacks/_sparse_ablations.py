"""Baselines of the AutoAdversary ablation (Li et al., arXiv:2203.09756, 2022).

* `random_mask_like`: the dense perturbation restricted to randomly chosen
  pixels, as many per sample as the learned mask keeps ("Dense + Random").
* `l1_penalized_pgd`: a dense L-inf attack with an L1 penalty on the
  perturbation itself instead of a mask ("Dense + l1 on delta").
"""

import numpy as np
import tensorflow as tf

from tfdefend.attacks import _core
from tfdefend.attacks._loop import UnrolledLoop, as_kernel
from tfdefend.utils import validation as V


def random_mask_like(delta, l0_per_sample, seed=0):
    """Keeps `l0_per_sample[i]` random perturbed pixels of `delta[i]` and zeroes the rest.

    Pixels are positions (a pixel is kept or dropped in all channels at
    once); only pixels where `delta` is non-zero in some channel are drawn
    from, so the result changes exactly `min(l0, perturbed pixels)` pixels.

    Args:
        delta: Perturbations [N, H, W, C] (array-like or tensor).
        l0_per_sample: Ints [N] (>= 0): pixels to keep per sample.
        seed: Int seed of the draw.

    Returns:
        The masked perturbation, a float32 NumPy array of `delta`'s shape.

    Raises:
        ValueError: If `delta` is not 4-D or `l0_per_sample` does not have
            one non-negative entry per sample.
    """
    d = V.check_batch_images(delta, name="delta", clip=None).numpy()
    try:
        k = np.asarray(l0_per_sample.numpy() if hasattr(l0_per_sample, "numpy") else l0_per_sample)
    except (TypeError, ValueError):
        k = np.asarray(None)
    if (k.shape != (d.shape[0],) or not np.issubdtype(k.dtype, np.integer)
            or (k.size and k.min() < 0)):
        raise ValueError(f"`l0_per_sample` must hold {d.shape[0]} non-negative int counts, got "
                         f"{k.dtype} of shape {k.shape}.")
    seed = V.check_seed(seed)
    n = d.shape[0]
    perturbed = (np.abs(d) > 0).any(axis=-1).reshape(n, -1)
    scores = np.random.default_rng(seed).random(perturbed.shape)
    scores[~perturbed] = -1.0  # never drawn before a perturbed pixel
    rank = np.argsort(np.argsort(-scores, axis=1), axis=1)
    keep = (rank < k[:, None]) & perturbed
    return d * keep.reshape(d.shape[:3] + (1,)).astype(np.float32)


def _build_l1_pgd(model):
    """`run(x, y, eps, step_size, steps, l1_weight, lo, hi)` (`steps` a Python int), unrolled compiled chunks."""

    def step(i, delta, constants):
        x, y, eps, step_size, l1_weight, lo, hi = constants
        grad = _core.loss_gradient(model, x + delta, y)
        scale = tf.reduce_max(tf.abs(grad), axis=[1, 2, 3], keepdims=True)
        delta = delta + step_size * grad / tf.maximum(scale, 1e-12)
        # Proximal step of the L1 penalty (soft threshold), then the L-inf and box constraints.
        delta = tf.sign(delta) * tf.nn.relu(tf.abs(delta) - step_size * l1_weight)
        delta = tf.clip_by_value(delta, -eps, eps)
        return tf.clip_by_value(x + delta, lo, hi) - x

    loop = UnrolledLoop(step)

    def run(x, y, eps, step_size, steps, l1_weight, lo, hi):
        return x + loop(tf.zeros_like(x), (x, y, eps, step_size, l1_weight, lo, hi), steps)

    return as_kernel(run, loop)


def l1_penalized_pgd(model, x, y=None, *, eps, steps=10, step_size=None, l1_weight=0.1, clip=(0.0, 1.0)):
    """Untargeted L-inf PGD with an L1 penalty on the perturbation (proximal gradient).

    Ascends `CE(f(x + delta), y) - l1_weight * ||delta||_1` from `delta = 0`:
    each step moves `delta` along the cross-entropy gradient normalized per
    sample to unit L-inf norm (so the most sensitive pixel moves by
    `step_size` and `l1_weight` is a fraction of the strongest gradient),
    soft-thresholds every element by `step_size * l1_weight` (the proximal
    map of the L1 term, which sets weakly useful elements exactly to zero),
    and projects onto the eps-ball and into `clip`.

    Args:
        model: A `keras.Model` or any callable mapping a float32 NHWC batch to logits.
        x: Image batch [N, H, W, C] inside `clip`.
        y: Int labels [N]; defaults to the model's own predictions.
        eps: L-inf budget (> 0).
        steps: Iterations (>= 1).
        step_size: Largest per-element move per step; default `2.5 * eps / steps`.
        l1_weight: Penalty weight in [0, 1] (0: plain normalized-gradient PGD;
            1: only elements with the strongest gradient move).
        clip: `(min, max)` valid image range, or None for unbounded.

    Returns:
        The adversarial batch, float32 (NumPy in -> NumPy out, tensor in -> tensor out).

    Raises:
        ValueError: Bad `x`, `y`, `eps`, `steps`, `step_size`, `l1_weight` or `clip`.
        TypeError: Non-numeric arguments.
    """
    eps = V.check_eps(eps, norm="inf", clip=clip, allow_zero=False)
    steps = V.check_positive_int(steps, "steps")
    step_size = 2.5 * eps / steps if step_size is None else V.check_eps(
        step_size, name="step_size", norm="inf", clip=clip, allow_zero=False)
    l1_weight = V.check_float(l1_weight, "l1_weight", lo=0.0)
    if l1_weight > 1.0:
        raise ValueError(f"`l1_weight` must be in [0, 1], got {l1_weight}.")
    x_t, y_t, (lo, hi), as_numpy = _core.prepare(model, x, y, clip)
    fn = _core.compiled(model, "l1_penalized_pgd", (), _build_l1_pgd)
    x_adv = fn(x_t, y_t, _core.f32(eps), _core.f32(step_size), int(steps),
               _core.f32(l1_weight), _core.f32(lo), _core.f32(hi))
    return _core.finish(x_adv, as_numpy)
