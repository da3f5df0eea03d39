"""The learned pixel masks of the sparse attacks (AutoAdversary, AdvMask's sensitive points).

Per-sample mask encoders (each image has its own weights, so a batch is
optimized as independent problems in one computation), the written-out
Adam step they are trained with, and the bookkeeping of the sparsest
successful binary mask. `tfdefend.attacks.auto_adversary` and
`tfdefend.augment.sensitive_points` build their optimizations from these.
"""

import numpy as np
import tensorflow as tf

DENSE_MAX_PIXELS = 28 * 28  # "auto": FC encoder up to MNIST size, U-Net-style conv net above
INIT_LOGIT = 0.5  # initial mask logit: m starts at sigmoid(alpha_start * 0.5) (~0.62)
_HIDDEN = 64  # FC encoder hidden units
_WIDTH = 8  # U-Net-style encoder channels (2x at half resolution)
_BETA1, _BETA2, _ADAM_EPS = 0.9, 0.999, 1e-8
_TOL = 1e-6  # |change| <= _TOL does not count as a changed pixel (as in evaluation.perturbation_norms)


def pixel_changed(delta):
    """[B, H, W, 1] float: 1 where any channel of `delta` changes by more than `_TOL`."""
    return tf.cast(tf.reduce_any(tf.abs(delta) > _TOL, axis=-1, keepdims=True), tf.float32)


def keep_sparsest(hard, success, best_mask, best_l0):
    """Per sample, `hard` replaces the best mask if it succeeded with no more pixels (ties: the latest)."""
    l0 = tf.reduce_sum(hard, axis=[1, 2, 3])
    better = tf.logical_and(success, l0 <= best_l0)
    return tf.where(better[:, None, None, None], hard, best_mask), tf.where(better, l0, best_l0)


def adam_step(params, grads, m1, m2, step, lr):
    """One Adam update written out (element-wise: every sample has its own weights) -> params, m1, m2."""
    k = step + 1.0
    m1 = [_BETA1 * a + (1.0 - _BETA1) * g for a, g in zip(m1, grads)]
    m2 = [_BETA2 * b + (1.0 - _BETA2) * tf.square(g) for b, g in zip(m2, grads)]
    params = [p - lr * (a / (1.0 - _BETA1 ** k)) / (tf.sqrt(b / (1.0 - _BETA2 ** k)) + _ADAM_EPS)
              for p, a, b in zip(params, m1, m2)]
    return params, m1, m2


# --------------------------------------------------------------------------- encoders


def _glorot(rng, fan_in, fan_out, shape):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def init_encoder_params(kind, shape, seed):
    """Initial encoder parameters, one copy per sample (identical copies from `seed`).

    Every sample gets its own weights (leading batch axis), so each image is
    optimized independently of the rest of the batch, as in the paper's
    per-image optimization; the copies start equal, so a sample's result does
    not depend on its position in the batch.

    Args:
        kind: "none" (a free logit per pixel), "dense" (H*W*C -> 64 -> H*W)
            or "unet" (one down/up level with a skip, 8/16 channels).
        shape: The image batch's static shape `(N, H, W, C)`.
        seed: Int seed of the weights (shared by the copies).

    Returns:
        A list of float32 tensors, each with a leading axis of `N`.
    """
    n, h, w, c = shape
    rng = np.random.default_rng(seed)
    if kind == "none":  # a free mask logit per pixel
        single = [np.full((h, w, 1), INIT_LOGIT, np.float32)]
    elif kind == "dense":
        d_in, d_out = h * w * c, h * w
        single = [_glorot(rng, d_in, _HIDDEN, (d_in, _HIDDEN)), np.zeros(_HIDDEN, np.float32),
                  _glorot(rng, _HIDDEN, d_out, (_HIDDEN, d_out)), np.full(d_out, INIT_LOGIT, np.float32)]
    else:  # unet: conv3x3 c->W, [avgpool2, conv3x3 W->2W, upsample], concat, conv3x3 3W->W, 1x1 W->1 (+bias/pixel)
        single = []
        for k, cin, cout in ((3, c, _WIDTH), (3, _WIDTH, 2 * _WIDTH), (3, 3 * _WIDTH, _WIDTH), (1, _WIDTH, 1)):
            single.append(_glorot(rng, k * k * cin, k * k * cout, (k * k * cin, cout)))
            single.append(np.zeros(cout, np.float32))
        single[-1] = np.full((h, w, 1), INIT_LOGIT, np.float32)  # per-pixel output bias
    return [tf.constant(np.broadcast_to(p, (n,) + p.shape)) for p in single]


def start_encoder(encoder, shape, seed):
    """Resolves `encoder` ("auto": "dense" up to `DENSE_MAX_PIXELS` pixels, else "unet") and initializes it.

    Args:
        encoder: "auto", "dense", "unet" or "none".
        shape: The image batch's static shape `(N, H, W, C)`.
        seed: Int seed of the weights.

    Returns:
        `(kind, params)`: the encoder kind and its `init_encoder_params`.
    """
    kind = encoder if encoder != "auto" else ("dense" if shape[1] * shape[2] <= DENSE_MAX_PIXELS else "unet")
    return kind, init_encoder_params(kind, shape, int(seed))


def _conv(t, kernel, bias, k):
    """Per-sample convolution ("SAME", stride 1): kernel [B, k*k*Cin, Cout], bias [B, Cout] or [B, H, W, Cout]."""
    if k > 1:
        t = tf.image.extract_patches(t, [1, k, k, 1], [1, 1, 1, 1], [1, 1, 1, 1], "SAME")
    out = tf.einsum("bhwk,bko->bhwo", t, kernel)
    return out + (bias if bias.shape.rank == 4 else bias[:, None, None, :])


def encode(kind, params, u):
    """Mask logits `h` `[B, H, W, 1]` from the normalized perturbation `u = delta / eps`.

    Args:
        kind: The encoder of `init_encoder_params`.
        params: Its parameters (per sample).
        u: float32 `[B, H, W, C]`.

    Returns:
        float32 `[B, H, W, 1]`, one logit per pixel (shared by the channels).
    """
    shape = tf.shape(u)
    if kind == "none":
        return params[0]
    if kind == "dense":
        w1, b1, w2, b2 = params
        flat = tf.reshape(u, [shape[0], -1])
        hidden = tf.nn.relu(tf.einsum("bi,bij->bj", flat, w1) + b1)
        return tf.reshape(tf.einsum("bj,bjk->bk", hidden, w2) + b2, [shape[0], shape[1], shape[2], 1])
    k1, c1, k2, c2, k3, c3, k4, c4 = params
    e1 = tf.nn.relu(_conv(u, k1, c1, 3))
    e2 = tf.nn.relu(_conv(tf.nn.avg_pool2d(e1, 2, 2, "SAME"), k2, c2, 3))
    up = tf.image.resize(e2, shape[1:3], method="nearest")
    d1 = tf.nn.relu(_conv(tf.concat([e1, up], -1), k3, c3, 3))
    return _conv(d1, k4, c4, 1)
