"""Loss helpers shared by the image-to-image models' `compute_loss`."""

from keras import ops

from tfdefend.utils.distribute import scale_for_replicas


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
    return _weighted_batch_mean(ops.square(y_pred - target), sample_weight)


def reconstruction_l1(target, y_pred, sample_weight=None):
    """Mean absolute error between images, averaged per image then over the batch.

    The pixel-guided loss of HGD/UDDN denoisers. Same shapes and
    `sample_weight` handling as `reconstruction_mse`.

    Returns:
        A scalar tensor.
    """
    target = ops.cast(target, y_pred.dtype)
    return _weighted_batch_mean(ops.abs(y_pred - target), sample_weight)


def _weighted_batch_mean(errors, sample_weight):
    """Per-image mean of `errors`, times the optional per-image weights, averaged over the batch."""
    per_image = ops.mean(errors, axis=tuple(range(1, len(errors.shape))))
    if sample_weight is not None:
        per_image = per_image * ops.reshape(ops.cast(sample_weight, per_image.dtype), (-1,))
    return ops.mean(per_image)


def sum_losses(losses, dtype="float32"):
    """Sums a list of scalar tensors in `dtype` (zero for an empty list).

    Each loss is cast to `dtype` first: a mixed-precision model's layer
    losses are float16, its (float32) outputs' losses float32.
    """
    return ops.sum(ops.stack([ops.cast(loss, dtype) for loss in losses])) if losses else ops.zeros((), dtype)


def denoiser_loss(model, error, x, y, y_pred, sample_weight, training):
    """The `compute_loss` of an image-to-image model: `error(target, y_pred)` plus its layer losses.

    `target` is `y`, or `x` if `y` is None (an autoencoder); `y_pred` is the
    forward pass on `x`, run here if it is None. `error` is
    `reconstruction_mse` or `reconstruction_l1`. In a multi-replica
    `tf.distribute` context the loss is this replica's share of the
    global-batch mean (`scale_for_replicas`: Keras sums the replicas'
    gradients).
    """
    if y_pred is None:
        y_pred = model(x, training=training)
    total = error(x if y is None else y, y_pred, sample_weight) + sum_losses(model.losses, y_pred.dtype)
    return scale_for_replicas(total, ops.shape(y_pred)[0])
