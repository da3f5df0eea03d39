"""Loss reductions shared by the trainers."""

from keras import ops


def batch_mean(per_sample, sample_weight=None):
    """Mean over the batch of per-sample values, optionally weighted (Keras' "sum_over_batch_size")."""
    if sample_weight is not None:
        per_sample = per_sample * ops.reshape(ops.cast(sample_weight, per_sample.dtype), (-1,))
    return ops.mean(per_sample)
