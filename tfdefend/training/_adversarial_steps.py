"""Pieces shared by the adversarial trainers (`AdversarialTraining`, `TRADES`, `MART`)."""

import keras
from keras import ops

from tfdefend.attacks import kernels
from tfdefend.training._losses import batch_mean


def ascent_step(x_adv, grad, x, eps, step_size, norm, lo, hi):
    """One projected ascent step: `step_size` along sign(grad) (L-inf) or grad / ||grad|| (L2), back into the ball."""
    return kernels.project(x_adv + step_size * kernels.ascent_direction(grad, norm), x, eps, norm, lo, hi)


def unpack_labeled(data, trainer_name):
    """`(x float32, y int32 [N], sample_weight)` of a `fit`/`evaluate` batch; ValueError without labels."""
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    if y is None:
        raise ValueError(f"{trainer_name} needs integer labels: call fit(x, y).")
    return ops.cast(x, "float32"), ops.reshape(ops.cast(y, "int32"), (-1,)), sample_weight


def clean_test_step(trainer, data, loss_tracker, accuracy_tracker, trainer_name):
    """`test_step` of an adversarial trainer: the classifier's clean cross-entropy and accuracy."""
    x, y, sample_weight = unpack_labeled(data, trainer_name)
    logits = trainer.classifier(x, training=False)
    loss_tracker.update_state(cross_entropy(y, logits, sample_weight))
    accuracy_tracker.update_state(y, logits, sample_weight=sample_weight)
    return {m.name: m.result() for m in (loss_tracker, accuracy_tracker)}


def cross_entropy(y, logits, sample_weight=None):
    """Batch-mean sparse softmax cross-entropy of logits (unscaled by replicas, unlike Keras' loss objects)."""
    return batch_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True), sample_weight)

