"""AutoAdversary: sparse attack by pruning the pixels of a dense perturbation.

Li, Liu, Zhao, Shen, "AutoAdversary: A Pixel Pruning Method for Sparse
Adversarial Attack", arXiv:2203.09756, 2022. A dense L-inf attack gives
`delta`; a mask branch (an encoder network on `delta`, output one logit per
pixel) followed by the binarization `m = sigmoid(alpha * h)` with a growing
`alpha` learns which perturbed pixels are needed; the adversarial example is
`x + delta * m`.
"""

import numpy as np
import tensorflow as tf

from tfdefend.attacks import _core
from tfdefend.attacks._loop import UnrolledLoop, as_kernel
from tfdefend.attacks.mask_encoders import adam_step, encode, keep_sparsest, pixel_changed, start_encoder
from tfdefend.utils import validation as V

BASES = ("pgd", "bim", "mifgsm")
ENCODERS = ("auto", "dense", "unet", "none")
# Default Adam learning rates per encoder (tuned on Fashion-MNIST, eps 0.1, lam 5): the FC
# encoder's many weights move the logits much faster than a free logit per pixel does.
DEFAULT_MASK_LR = {"dense": 0.003, "unet": 0.03, "none": 0.05}
_ALPHA_MAX = 1e6  # alpha stops growing here (keeps alpha * h finite)
_BIG = 1e10


# --------------------------------------------------------------------------- compiled optimization


def _build(model, targeted, kind):
    """The mask optimization for one model, attack mode and encoder kind (unrolled compiled chunks).

    Returns `run(x, delta, y, y_star, params, eps, lam, lr, alpha0, growth, steps, best_mask, best_l0)`
    (`steps` a Python int).
    """

    def step(t, state, constants):
        params, m1, m2, best_mask, best_l0 = state
        x, delta, y, y_star, eps, lam, lr, alpha0, growth = constants
        changed = pixel_changed(delta)
        u = delta / eps
        n_pix = tf.cast(tf.shape(x)[1] * tf.shape(x)[2], tf.float32)
        step_number = tf.cast(t, tf.float32)
        alpha = tf.minimum(alpha0 * tf.pow(growth, step_number), _ALPHA_MAX)
        with tf.GradientTape() as tape:
            tape.watch(params)
            h = encode(kind, params, u)
            mask = tf.sigmoid(alpha * h)
            logits = _core.logits_of(model, x + delta * mask)
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_star, logits=logits)
            sparsity = lam * tf.reduce_sum(mask, axis=[1, 2, 3]) / n_pix
            loss = tf.reduce_sum(ce + sparsity)
        grads = tape.gradient(loss, params, unconnected_gradients=_core.ZERO)
        # The hard mask of this iterate: keep it if it is successful and the sparsest so far.
        hard = tf.cast(h > 0.0, tf.float32) * changed
        pred = tf.argmax(_core.logits_of(model, x + delta * hard), -1, output_type=tf.int32)
        ok = tf.equal(pred, y) if targeted else tf.not_equal(pred, y)
        best_mask, best_l0 = keep_sparsest(hard, ok, best_mask, best_l0)
        params, m1, m2 = adam_step(params, grads, m1, m2, step_number, lr)
        return list(params), list(m1), list(m2), best_mask, best_l0

    loop = UnrolledLoop(step)

    def run(x, delta, y, y_star, params, eps, lam, lr, alpha0, growth, steps, best_mask, best_l0):
        params = [tf.convert_to_tensor(p) for p in params]
        state = (params, [tf.zeros_like(p) for p in params], [tf.zeros_like(p) for p in params], best_mask, best_l0)
        state = loop(state, (x, delta, y, y_star, eps, lam, lr, alpha0, growth), steps)
        return state[3], state[4]

    return as_kernel(run, loop)


def _dense_attack(base, model, x, y, *, eps, steps, step_size, targeted, clip, seed):
    """The dense perturbation: the registry's attack `base` ("pgd" with a random start, "bim" or "mifgsm")."""
    from tfdefend.attacks.registry import get  # noqa: PLC0415 - the registry imports this module

    attack = get(base)
    if base == "pgd":
        step_size = 2.5 * eps / steps if step_size is None else step_size
        return attack(model, x, y, eps=eps, step_size=step_size, steps=steps, random_start=True, seed=seed,
                      targeted=targeted, clip=clip)
    return attack(model, x, y, eps=eps, step_size=step_size, steps=steps, targeted=targeted, clip=clip)


def _lowered(value):
    """A str choice without surrounding blanks, in lower case (other values as they are, for the check)."""
    return value.strip().lower() if isinstance(value, str) else value


def auto_adversary(model, x, y=None, *, base="pgd", eps, steps=10, step_size=None, lam=5.0, targeted=False,
                   mask_steps=100, mask_lr=None, alpha_start=1.0, alpha_growth=1.05, encoder="auto", seed=0,
                   clip=(0.0, 1.0), return_info=False):
    """Sparse L-inf attack: a dense attack pruned by a learned binary pixel mask.

    1. The dense base attack (`pgd` with a random start and default step
       `2.5 * eps / steps`, `bim` or `mifgsm`) gives `delta`, `||delta||_inf <= eps`.
    2. An encoder maps `delta / eps` to one mask logit `h` per pixel
       ([B, H, W, 1], shared by the channels): "dense" is a fully connected
       net (H*W*C -> 64 -> H*W), "unet" a small U-Net-style conv net (one
       down/up level with a skip, 8/16 channels, per-pixel output bias),
       "auto" picks "dense" up to 28x28 pixels and "unet" above, and "none" optimizes a free logit per pixel (the
       "mask without encoder" ablation). Each sample has its own encoder
       weights, all initialized identically from `seed`, so samples are
       optimized independently, in one batched computation.
    3. `m = sigmoid(alpha_t * h)` with the exponential schedule
       `alpha_t = alpha_start * alpha_growth**t` (t = 0 .. mask_steps-1,
       capped at 1e6), so `m` is driven to {0, 1}.
    4. Adam (`mask_lr`) on the encoder weights minimizes, per sample,
       `CE(f(x + delta * m), y*) + lam * ||m||_1 / (H*W)` with `delta` fixed.
       `y*` is the target when `targeted`; otherwise the most likely class
       other than `y` at `x + delta` (the dense attack's adversarial class
       where it succeeded), so the attack term is bounded below and the
       sparsity term can win once the sample is adversarial.
    5. At every step the hard mask `h > 0` (restricted to pixels `delta`
       changes) is checked; the sparsest successful hard mask seen is kept
       (ties: the latest), starting from the dense mask (all ones) where the
       dense attack succeeds. Fallback: a sample for which no hard mask
       succeeds keeps the full dense `delta` (`success` is then the dense
       attack's, usually False).

    `x_adv = x + delta * mask` with a binary mask, so `||x_adv - x||_inf <=
    eps` and `x_adv` stays in `clip`. The optimization is cached per (model,
    targeted, encoder) as unrolled compiled chunks of steps, traced once per
    chunk size and input shape.

    Args:
        model: A `keras.Model` or any callable mapping a float32 NHWC batch to logits.
        x: Image batch [N, H, W, C] inside `clip`.
        y: Int labels [N]; defaults to the model's own predictions. Target
            classes when `targeted=True` (then required).
        base: Dense attack: "pgd", "bim" or "mifgsm".
        eps: L-inf budget (> 0).
        steps: Iterations of the dense attack (>= 1).
        step_size: Step of the dense attack; None for its default.
        lam: Weight of the sparsity term (>= 0).
        targeted: Whether `y` holds target classes.
        mask_steps: Adam iterations of the mask branch (>= 1).
        mask_lr: Adam learning rate (> 0); None for the encoder's default
            (`DEFAULT_MASK_LR`: dense 0.003, unet 0.03, none 0.05).
        alpha_start: Initial binarization sharpness (> 0).
        alpha_growth: Per-step growth factor of alpha (>= 1).
        encoder: "auto", "dense", "unet" or "none".
        seed: Int seed of the encoder weights and of PGD's random start.
        clip: `(min, max)` valid image range, or None for unbounded.
        return_info: Also return a dict of per-sample NumPy arrays: "l0"
            (pixels changed, a pixel counted once across channels), "success"
            (bool), "mask" (final hard mask [N, H, W, 1], float 0/1),
            "dense_l0" and "dense_success" (the same for the dense attack).

    Returns:
        The adversarial batch, float32, same shape as `x` (NumPy in -> NumPy
        out, tensor in -> tensor out); with `return_info`, `(x_adv, info)`.

    Raises:
        ValueError: Bad `x`, `y`, `eps`, `steps`, `lam`, `base`, `encoder`,
            other hyper-parameters or `clip`, or `targeted` without `y`.
        TypeError: Non-numeric arguments.
    """
    base = V.check_choice(_lowered(base), "base", BASES)
    encoder = V.check_choice(_lowered(encoder), "encoder", ENCODERS)
    eps = V.check_eps(eps, norm="inf", clip=clip, allow_zero=False)
    steps = V.check_positive_int(steps, "steps")
    if step_size is not None:
        step_size = V.check_eps(step_size, name="step_size", norm="inf", clip=clip, allow_zero=False)
    lam = V.check_float(lam, "lam", lo=0.0)
    mask_steps = V.check_positive_int(mask_steps, "mask_steps")
    if mask_lr is not None:
        mask_lr = V.check_float(mask_lr, "mask_lr", lo=0.0, lo_open=True)
    alpha_start = V.check_float(alpha_start, "alpha_start", lo=0.0, lo_open=True)
    alpha_growth = V.check_float(alpha_growth, "alpha_growth", lo=0.0, lo_open=True)
    if alpha_growth < 1.0:
        raise ValueError(f"`alpha_growth` must be >= 1, got {alpha_growth}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"`seed` must be an int, got {type(seed).__name__}.")
    x_t, y_t, bounds, as_numpy = _core.prepare(model, x, y, clip, targeted=targeted)

    x_dense = _dense_attack(base, model, x_t, y_t, eps=eps, steps=steps, step_size=step_size,
                            targeted=targeted, clip=clip, seed=int(seed))
    delta = x_dense - x_t
    logits = _core.logits_of(model, x_dense)
    pred = tf.argmax(logits, -1, output_type=tf.int32)
    if targeted:
        y_star, dense_ok = y_t, tf.equal(pred, y_t)
    else:
        y_star = tf.argmax(logits - _BIG * tf.one_hot(y_t, tf.shape(logits)[-1]), -1, output_type=tf.int32)
        dense_ok = tf.not_equal(pred, y_t)
    changed = pixel_changed(delta)
    dense_l0 = tf.reduce_sum(changed, axis=[1, 2, 3])

    shape = tuple(int(d) for d in x_t.shape)
    kind, params = start_encoder(encoder, shape, seed)
    mask_lr = DEFAULT_MASK_LR[kind] if mask_lr is None else mask_lr
    fn = _core.compiled(model, "auto_adversary", (bool(targeted), kind), _build)
    best_mask, _ = fn(x_t, delta, y_t, y_star, params, _core.f32(eps), _core.f32(lam), _core.f32(mask_lr),
                      _core.f32(alpha_start), _core.f32(alpha_growth), int(mask_steps),
                      changed, tf.where(dense_ok, dense_l0, np.inf))
    lo, hi = bounds
    x_adv = tf.clip_by_value(x_t + delta * best_mask, x_t - eps, x_t + eps)
    x_adv = tf.clip_by_value(x_adv, lo, hi)
    out = _core.finish(x_adv, as_numpy)
    if not return_info:
        return out
    final_pred = _core.predict_labels(model, x_adv)
    success = tf.equal(final_pred, y_t) if targeted else tf.not_equal(final_pred, y_t)
    final_changed = pixel_changed(x_adv - x_t)
    info = {
        "l0": tf.reduce_sum(final_changed, axis=[1, 2, 3]).numpy().astype(np.int64),
        "success": success.numpy(),
        "mask": (best_mask * final_changed).numpy(),
        "dense_l0": dense_l0.numpy().astype(np.int64),
        "dense_success": dense_ok.numpy(),
    }
    return out, info
