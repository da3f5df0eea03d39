"""Sensitive points for AdvMask: a sparse attack with AdvMask's normalized loss.

AdvMask (Yang et al., Pattern Recognition 2023) prunes a dense attack's perturbation to the few
pixels the model is most sensitive to. Its loss differs from AutoAdversary's
plain cross-entropy: with `L_init` the true-label cross-entropy at the dense
adversarial example,

    L_classify = -CE(f(x + delta * m), y) / L_init + 1
    L = max(L_classify, eta * L_classify) + lam * ||m||_1 / N,

so `L_classify` is ~[0, 1] until the model errs (`L_classify = 0` at the
dense attack's loss) and decays slowly (`eta`) below 0, keeping the two terms
balanced. `m = sigmoid(alpha_t * h)` with `alpha_t` growing so `m` becomes
binary; the sparsest successful hard mask `h > 0` seen is kept.
"""

import collections
import warnings

import numpy as np
import tensorflow as tf

from tfdefend.attacks import get as get_attack
from tfdefend.attacks.mask_encoders import adam_step, encode, keep_sparsest, pixel_changed, start_encoder
from tfdefend.utils import validation as V
from tfdefend.utils.calling import call_model

ENCODERS = ("none", "auto", "dense", "unet")
DENSE_ATTACK = "pgd"  # the registry's dense attack whose perturbation the mask prunes (random start)
_INIT_LOGIT = 2.0
_CACHE = collections.OrderedDict()  # (id(model), kind) -> (model, tf.function)


def _build(model, kind):
    """Compiles the mask search for one model (AutoAdversary's encoders, bookkeeping and Adam step)."""

    @tf.function(reduce_retracing=True)
    def run(x, delta, y, l_init, params, eps, lam, eta, lr, alpha0, growth, steps):
        changed = pixel_changed(delta)
        u = delta / eps
        n_pix = tf.cast(tf.shape(x)[1] * tf.shape(x)[2], tf.float32)
        m1 = [tf.zeros_like(p) for p in params]
        m2 = [tf.zeros_like(p) for p in params]
        best = changed
        best_l0 = tf.fill([tf.shape(x)[0]], np.inf)
        hard = changed
        for t in tf.range(steps):
            step = tf.cast(t, tf.float32)
            alpha = alpha0 * tf.pow(growth, step)
            with tf.GradientTape() as tape:
                tape.watch(params)
                h = encode(kind, params, u)
                mask = tf.sigmoid(alpha * h)
                logits = tf.cast(call_model(model, x + delta * mask), tf.float32)
                ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
                classify = 1.0 - ce / l_init
                loss = tf.reduce_sum(tf.maximum(classify, eta * classify)
                                     + lam * tf.reduce_sum(mask, axis=[1, 2, 3]) / n_pix)
            grads = tape.gradient(loss, params, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            hard = tf.cast(h > 0.0, tf.float32) * changed
            pred = tf.argmax(call_model(model, x + delta * hard), -1, output_type=tf.int32)
            best, best_l0 = keep_sparsest(hard, tf.not_equal(pred, y), best, best_l0)
            params, m1, m2 = adam_step(params, grads, m1, m2, step, lr)
        found = tf.math.is_finite(best_l0)
        return tf.where(found[:, None, None, None], best, hard), found

    return run


def _compiled(model, kind):
    key = (id(model), kind)
    entry = _CACHE.get(key)
    if entry is None or entry[0] is not model:
        entry = (model, _build(model, kind))
        _CACHE[key] = entry
        while len(_CACHE) > 8:
            _CACHE.popitem(last=False)
    return entry[1]


def sensitive_points(model, x, y=None, *, eps, steps=50, lam=2.0, eta=0.1, seed=0, attack_steps=10, lr=0.1,
                     alpha_start=1.0, alpha_end=100.0, encoder="none", clip=(0.0, 1.0), return_info=False):
    """Binary masks of each image's sensitive points (AdvMask's sparse attack).

    1. PGD (L-inf `eps`, `attack_steps` steps of `2.5 * eps / attack_steps`,
       seeded random start) gives the dense perturbation `delta`;
       `L_init` = CE(f(x + delta), y) per sample.
    2. `steps` Adam steps (`lr`) on the mask logits `h` (one per pixel,
       shared by the channels; `encoder` other than "none" produces `h` with
       AutoAdversary's per-sample encoder on `delta`) minimize the
       normalized loss above, with `alpha` growing geometrically from
       `alpha_start` to `alpha_end`.
    3. Each image's mask is its sparsest hard mask `h > 0` that still fools
       the model (restricted to pixels `delta` changes); where none did
       (the dense attack failed), the last hard mask, i.e. the pixels
       that raised the loss most.

    Args:
        model: A `keras.Model` or callable returning logits.
        x: Images [N, H, W, C] inside `clip`.
        y: True int labels [N]; None for the model's own predictions.
        eps: L-inf budget of the dense attack (> 0).
        steps: Mask optimization steps (>= 1).
        lam: Weight of the sparsity term (>= 0).
        eta: Slope of the loss once the model errs, in [0, 1].
        seed: Int seed of PGD's random start (and of the encoder weights).
        attack_steps: PGD iterations (>= 1).
        lr: Adam learning rate (> 0). Adam moves a free logit by at most
            about `lr` per step and the logits start at 2, so with encoder
            "none" `steps * lr` must exceed 2 for any pixel to be pruned
            (a `UserWarning` says so otherwise).
        alpha_start: First binarization sharpness (> 0).
        alpha_end: Last binarization sharpness (>= alpha_start).
        encoder: "none" (free logits), or AutoAdversary's "auto"/"dense"/"unet".
        clip: `(min, max)` image range.
        return_info: Also return a dict with NumPy "l0" (points per image),
            "success" (the returned mask fools the model) and "dense_success".

    Returns:
        float32 NumPy masks [N, H, W, 1] of 0/1; with `return_info`, `(masks, info)`.

    Raises:
        TypeError, ValueError: Bad model, images, labels or hyper-parameters
            (the message names the argument).
    """
    if not callable(model):
        raise TypeError(f"`model` must be a keras.Model or callable, got {type(model).__name__}.")
    eps = V.check_eps(eps, clip=clip, allow_zero=False)
    steps = V.check_positive_int(steps, "steps")
    attack_steps = V.check_positive_int(attack_steps, "attack_steps")
    lam, lr = V.check_float(lam, "lam", lo=0.0), V.check_float(lr, "lr", lo=0.0, lo_open=True)
    eta = V.check_float(eta, "eta", lo=0.0)
    if eta > 1.0:
        raise ValueError(f"`eta` must lie in [0, 1], got {eta}.")
    alpha_start = V.check_float(alpha_start, "alpha_start", lo=0.0, lo_open=True)
    alpha_end = V.check_float(alpha_end, "alpha_end", lo=0.0)
    if alpha_end < alpha_start:
        raise ValueError(f"`alpha_end` ({alpha_end}) must be >= `alpha_start` ({alpha_start}).")
    if not isinstance(encoder, str) or encoder not in ENCODERS:
        raise ValueError(f"`encoder` must be one of {list(ENCODERS)}, got {encoder!r}.")
    if encoder == "none" and steps * lr <= _INIT_LOGIT:
        warnings.warn(f"`steps * lr` = {steps * lr:g} cannot move the mask logits from their start "
                      f"({_INIT_LOGIT:g}) below 0, so no pixel will be pruned: raise `steps` or `lr`.",
                      stacklevel=2)
    seed = V.check_seed(seed, allow_none=False)
    x_t = V.check_batch_images(x, clip=clip)
    if y is None:
        y_t = tf.argmax(call_model(model, x_t), -1, output_type=tf.int32)
    else:
        y_t = V.check_labels(y, int(x_t.shape[0]))
    x_adv = get_attack(DENSE_ATTACK)(model, x_t, y_t, eps=eps, step_size=2.5 * eps / attack_steps,
                                     steps=attack_steps, random_start=True, seed=int(seed), clip=clip)
    delta = x_adv - x_t
    logits = tf.cast(call_model(model, x_adv), tf.float32)
    l_init = tf.maximum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_t, logits=logits), 1e-3)
    dense_ok = tf.not_equal(tf.argmax(logits, -1, output_type=tf.int32), y_t)
    shape = tuple(int(d) for d in x_t.shape)
    if encoder == "none":
        kind, params = "none", [tf.fill(shape[:3] + (1,), _INIT_LOGIT)]
    else:
        kind, params = start_encoder(encoder, shape, seed)
    growth = (alpha_end / alpha_start) ** (1.0 / max(steps - 1, 1))
    f32 = lambda v: tf.constant(v, tf.float32)
    masks, found = _compiled(model, kind)(x_t, delta, y_t, l_init, params, f32(eps), f32(lam), f32(eta),
                                          f32(lr), f32(alpha_start), f32(growth), tf.constant(steps, tf.int32))
    masks = masks.numpy().astype(np.float32)
    if not return_info:
        return masks
    info = {"l0": masks.sum(axis=(1, 2, 3)).astype(np.int64), "success": found.numpy(),
            "dense_success": dense_ok.numpy()}
    return masks, info
