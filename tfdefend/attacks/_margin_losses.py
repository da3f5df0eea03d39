"""Per-sample attack losses on logits: cross-entropy and the difference of logits ratio (DLR)."""

import tensorflow as tf

LOSSES = ("ce", "dlr")
_TINY = 1e-12


def _pick(logits, labels):
    return tf.gather(logits, labels, batch_dims=1)


def dlr(logits, y):
    """Untargeted DLR, per sample: `-(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12)`.

    Positive once the image is misclassified; invariant to adding a constant
    to the logits and to scaling them by a positive factor.
    """
    top = tf.math.top_k(logits, k=3).values
    others = tf.where(tf.one_hot(y, tf.shape(logits)[-1]) > 0, tf.fill(tf.shape(logits), -float("inf")), logits)
    return -(_pick(logits, y) - tf.reduce_max(others, -1)) / (top[:, 0] - top[:, 2] + _TINY)


def targeted_dlr(logits, y, target):
    """Targeted DLR, per sample: `-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12)`."""
    top = tf.math.top_k(logits, k=4).values
    return -(_pick(logits, y) - _pick(logits, target)) / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + _TINY)


def loss_per_sample(loss, logits, y, target=None):
    """The loss an attack ascends, per sample: "ce" or "dlr"; targeted when `target` is given."""
    logits = tf.cast(logits, tf.float32)
    if loss == "ce":
        if target is None:
            return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        return -tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=logits)
    return dlr(logits, y) if target is None else targeted_dlr(logits, y, target)


def check_loss_classes(loss, num_classes, targeted):
    """Raises ValueError when the model has too few classes for `loss` (DLR: 3, targeted DLR: 4)."""
    need = (4 if targeted else 3) if loss == "dlr" else 2
    if num_classes is not None and num_classes < need:
        raise ValueError(f"loss={loss!r}{' (targeted)' if targeted else ''} needs a model with at least "
                         f"{need} classes, got {num_classes}.")
