"""Loss helpers shared by the image-to-image models' `compute_loss`."""

from keras import ops


def reconstruction_mse(target, y_pred, sample_weight=None):
    """Mean squared error between images, averaged per image then over the batch.

    Args:
        target: Reference images, shape (batch, height, width, channels).
        y_pred: Reconstructions of the same shape.
        sample_weight: Optional per-image weights, shape (batch,); the
            weighted per-image errors are summed and divided by the batch
            size (Keras' "sum_over_batch_size").

    Returns:
        A scalar tensor.
    """
    target = ops.cast(target, y_pred.dtype)
    per_image = ops.mean(ops.square(y_pred - target), axis=tuple(range(1, len(y_pred.shape))))
    if sample_weight is not None:
        per_image = per_image * ops.reshape(ops.cast(sample_weight, per_image.dtype), (-1,))
    return ops.mean(per_image)


def sum_losses(losses, dtype="float32"):
    """Sums a list of scalar tensors (zero for an empty list)."""
    return ops.sum(ops.stack(list(losses))) if losses else ops.zeros((), dtype)
