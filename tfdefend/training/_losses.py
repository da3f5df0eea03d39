"""Loss reductions shared by the trainers."""

import tensorflow as tf
from keras import ops


def batch_mean(per_sample, sample_weight=None):
    """Mean over the batch of per-sample values, optionally weighted (Keras' "sum_over_batch_size")."""
    if sample_weight is not None:
        per_sample = per_sample * ops.reshape(ops.cast(sample_weight, per_sample.dtype), (-1,))
    return ops.mean(per_sample)


def kl_divergence(probs, logits):
    """Per-example `KL(probs || softmax(logits))`, summed over classes (stable in the logits)."""
    log_q = tf.nn.log_softmax(logits)
    log_p = tf.math.log(tf.maximum(probs, 1e-12))
    return tf.reduce_sum(probs * (log_p - log_q), axis=-1)
