"""Building blocks of the gradient attacks, public for trainers that craft adversarial batches in the graph.

`tfdefend.training`'s adversarial trainers (AdversarialTraining, TRADES,
MART) build their inner maximization from the same pieces the attacks use:
a random start in the eps-ball (`random_start`), a projected ascent step
(`ascent_direction`, then `project`) and the gradient of the loss
(`loss_gradient`). All of them are plain TensorFlow functions of tensors,
usable inside a `tf.function` or `train_step`; none of them validates its
arguments (validate once, outside the graph, with `tfdefend.utils.validation`).
"""

import tensorflow as tf

from tfdefend.utils.calling import call_model

# Shrinks L2 budgets a little so that ||x_adv - x||_2 <= eps survives float32 rounding.
L2_SAFETY = 1.0 - 1e-5
# Gradients of outputs that do not depend on the input are zeros, not None.
ZERO = tf.UnconnectedGradients.ZERO
_TINY = 1e-12


def _per_sample(t, reduce_fn):
    axes = list(range(1, t.shape.rank))
    return reduce_fn(t, axis=axes, keepdims=True)


def l2_norm(t):
    """Per-sample L2 norm of a batch.

    Args:
        t: float tensor `[N, ...]`.

    Returns:
        `[N, 1, ..., 1]` (dimensions kept, so it broadcasts against `t`).
    """
    return tf.sqrt(_per_sample(tf.square(t), tf.reduce_sum))


def l1_norm(t):
    """Per-sample L1 norm of a batch, with kept dimensions (as `l2_norm`)."""
    return _per_sample(tf.abs(t), tf.reduce_sum)


def project(x_adv, x, eps, norm, lo, hi):
    """Projects `x_adv` onto the `norm` ball of radius `eps` around `x`, then into `[lo, hi]`.

    Args:
        x_adv: float32 batch `[N, H, W, C]`.
        x: The clean batch (the centre of the ball), same shape.
        eps: Radius (float or float32 scalar tensor).
        norm: "inf" (clip each pixel to `[x - eps, x + eps]`) or "l2"
            (rescale `x_adv - x` to norm `<= eps`, shrunk by a relative 1e-5
            so that the bound survives float32 rounding).
        lo: Lower clip bound (may be `-inf`).
        hi: Upper clip bound (may be `inf`).

    Returns:
        The projected float32 batch.
    """
    if norm == "inf":
        x_adv = tf.clip_by_value(x_adv, x - eps, x + eps)
    else:
        delta = x_adv - x
        radius = eps * L2_SAFETY
        scale = tf.minimum(1.0, radius / tf.maximum(l2_norm(delta), _TINY))
        x_adv = x + delta * scale
    return tf.clip_by_value(x_adv, lo, hi)


def linf_box(x, eps, lo, hi):
    """The box where the L-inf ball of radius `eps` around `x` meets `[lo, hi]`: `(lower, upper)`.

    `tf.clip_by_value(v, lower, upper)` equals `project(v, x, eps, "inf", lo, hi)` (min and max are exact),
    in 2 element-wise ops instead of 6 when the box is computed once for many steps.
    """
    return tf.maximum(x - eps, lo), tf.minimum(x + eps, hi)


def random_start(x, eps, norm, seed):
    """A uniform random point of the `norm` ball of radius `eps` (stateless, seeded).

    Args:
        x: float32 batch `[N, H, W, C]`; only its shape is used.
        eps: Radius (float or float32 scalar tensor).
        norm: "inf" (uniform per pixel in `[-eps, eps]`) or "l2" (uniform in
            the L2 ball: a Gaussian direction, radius `eps * U^(1/D)`).
        seed: int32 `[2]` seed of the stateless random ops.

    Returns:
        The random perturbation `delta` (add it to `x`, then `project`).
    """
    if norm == "inf":
        return tf.random.stateless_uniform(tf.shape(x), seed, -1.0, 1.0) * eps
    seeds = tf.random.experimental.stateless_split(seed, 2)
    direction = tf.random.stateless_normal(tf.shape(x), seeds[0])
    direction = direction / tf.maximum(l2_norm(direction), _TINY)
    dim = tf.cast(tf.reduce_prod(tf.shape(x)[1:]), tf.float32)
    u = tf.random.stateless_uniform(tf.concat([tf.shape(x)[:1], tf.ones([x.shape.rank - 1], tf.int32)], 0),
                                    seeds[1])
    return direction * eps * L2_SAFETY * tf.pow(u, 1.0 / dim)


def loss_gradient(model, x, y):
    """Gradient w.r.t. `x` of the summed sparse softmax cross-entropy of `model(x)` and `y`.

    A model whose output does not depend differentiably on `x` (e.g. a JPEG
    or quantization front end) gives a zero gradient rather than None, so
    attacks run and honestly report what plain gradients achieve.

    Args:
        model: A `keras.Model` or callable returning logits (called in
            inference mode).
        x: float32 batch `[N, H, W, C]`.
        y: int32 labels `[N]`.

    Returns:
        float32 gradient of `x`'s shape.
    """
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = tf.cast(call_model(model, x), tf.float32)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    return tape.gradient(loss, x, unconnected_gradients=ZERO)


def ascent_direction(grad, norm):
    """The steepest-ascent direction of unit `norm` for `grad`.

    Args:
        grad: float32 gradient batch `[N, H, W, C]`.
        norm: "inf" (`sign(grad)`) or "l2" (`grad / ||grad||_2` per sample).

    Returns:
        The direction, same shape (take `x_adv + step_size * direction`, then `project`).
    """
    if norm == "inf":
        return tf.sign(grad)
    return grad / tf.maximum(l2_norm(grad), _TINY)
