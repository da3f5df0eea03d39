"""Pieces shared by the adversarial trainers (`AdversarialTraining`, `TRADES`, `MART`)."""

import keras
import tensorflow as tf
from keras import ops

from tfdefend.attacks import kernels
from tfdefend.training._losses import batch_mean
from tfdefend.training.nested_config import NestedModelTrainer
from tfdefend.utils.distribute import replica_rows, scale_for_replicas
from tfdefend.utils.validation import check_clip, check_eps, check_norm

ADV_ACCURACIES = {"accuracy_tracker": "accuracy", "adv_accuracy_tracker": "adv_accuracy"}  # `add_trackers`


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


def check_budget(eps, norm, clip):
    """Checks the perturbation ball of an adversarial trainer.

    Args:
        eps: Perturbation budget (> 0).
        norm: "inf" or "l2".
        clip: `(min, max)` valid image range, or None.

    Returns:
        `(eps, norm, lo, hi)`, checked (`lo, hi` the bounds of `clip`).
    """
    norm = check_norm(norm)
    lo, hi = check_clip(clip)
    return check_eps(eps, norm=norm, clip=clip, allow_zero=False), norm, lo, hi


def check_step_size(step_size, norm, clip):
    """A given attack step checked like a budget (> 0, in the units of the images)."""
    return check_eps(step_size, name="step_size", norm=norm, clip=clip, allow_zero=False)


def global_draw(seed_generator, x, sample):
    """This replica's rows of one random draw for the global batch of `x`.

    Args:
        seed_generator: The trainer's `keras.random.SeedGenerator`; one
            stateless seed is drawn from it.
        x: The batch `[N, ...]` (on this replica).
        sample: `sample(shape, seed)` drawing a tensor of that shape.

    Returns:
        A tensor shaped like `x` (the same under any tf.distribute strategy).
    """
    seed = keras.random.randint((2,), 0, 2 ** 31 - 1, seed=seed_generator, dtype="int32")
    # Under a tf.distribute strategy each replica takes its rows of one draw for the global batch.
    return replica_rows(lambda n: sample(tf.concat([[n], tf.shape(x)[1:]], 0), seed), tf.shape(x)[0])


class AdversarialTrainer(NestedModelTrainer):
    """Base of `AdversarialTraining` and `TRADES`: a classifier trained on clean and adversarial batches.

    A subclass implements `adversarial_batch(x, y)` and
    `training_losses(x, x_adv, y, sample_weight)`, and calls
    `_set_attack(...)` and `add_trackers` with three loss trackers (the
    total first) and the `accuracy` and `adv_accuracy` trackers.
    """

    NESTED_MODELS = ("classifier",)

    def _set_attack(self, classifier, eps, steps, step_size, seed, norm, clip, lo, hi, **extra):
        """Stores the checked arguments (`extra`: the subclass' own) and creates the seed generator."""
        self.classifier = classifier
        self.eps, self.steps, self.step_size = eps, steps, step_size
        for name, value in extra.items():
            setattr(self, name, value)
        self.seed = seed
        self.norm = norm
        self.clip = None if clip is None else (lo, hi)
        self._bounds = (lo, hi)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        """Returns the classifier's logits."""
        return self.classifier(x, training=training)

    def train_step(self, data):
        x, y, sample_weight = unpack_labeled(data, type(self).__name__)
        x_adv = self.adversarial_batch(x, y)  # per replica under a tf.distribute strategy
        with tf.GradientTape() as tape:
            clean_logits, adv_logits, losses = self.training_losses(x, x_adv, y, sample_weight)
            # Replicas' gradients are summed: differentiate this replica's share of the global-batch mean.
            scaled = scale_for_replicas(losses[0], ops.shape(x)[0])
        self.descend(tape, scaled, self.classifier.trainable_variables)
        metrics = self.metrics
        self.update_trackers(zip(metrics[:3], losses))
        metrics[3].update_state(y, clean_logits, sample_weight=sample_weight)
        metrics[4].update_state(y, adv_logits, sample_weight=sample_weight)
        return self.metric_results(metrics)

    def test_step(self, data):
        return clean_test_step(self, data, self.loss_tracker, self.accuracy_tracker, type(self).__name__)
