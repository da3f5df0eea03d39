"""TRADES: adversarial training by the trade-off between clean and boundary error (Zhang et al., ICML 2019)."""

import keras
import tensorflow as tf
from keras import ops

from tfdefend.attacks import kernels
from tfdefend.training._adversarial_steps import (
    ascent_step,
    clean_test_step,
    unpack_labeled,
)
from tfdefend.training._losses import batch_mean, kl_divergence
from tfdefend.training.nested_config import NestedModelTrainer
from tfdefend.utils.distribute import replica_rows, scale_for_replicas
from tfdefend.utils.validation import (
    check_clip,
    check_eps,
    check_float,
    check_model_kwargs,
    check_norm,
    check_positive_int,
    check_seed,
)

START_SCALE = 0.001  # the reference implementation's start: x + 0.001 * N(0, 1)


@keras.saving.register_keras_serializable(package="tfdefend")
class TRADES(NestedModelTrainer):
    FIRST_TERM = "natural_loss"  # the name of the loss' first term in the training logs

    """Trains a classifier with the TRADES loss (`MART` builds on it).

    Each step first finds, in the graph, the point of the `eps`-ball around
    `x` whose prediction is farthest from the clean one: from
    `x + 0.001 * N(0, 1)`, `steps` signed (L-inf) or normalized (L2)
    gradient-ascent steps of `step_size` on `KL(f(x) || f(x'))`, each
    projected onto the ball and into `clip`, with the classifier in
    inference mode and `f(x)` held fixed. The weights then descend

        loss = CE(y, f(x)) + beta * KL(f(x) || f(x')),

    with the gradient flowing through both `f(x)` and `f(x')` as in the
    authors' code (the KL is summed over classes, averaged over the batch).
    `beta=0` is plain training; larger `beta` trades clean accuracy for
    robustness (the paper: 1 on MNIST, 6 on CIFAR-10).

    Training metrics: `loss`, `natural_loss` (the CE), `robust_loss` (the
    KL), `accuracy` (clean) and `adv_accuracy` (on `x'`), all on the
    training batch. `evaluate` reports the clean `loss` and `accuracy`.
    `call(x)` returns `classifier(x)`; deploy `.classifier`, trained in
    place. A loss given to `compile` is ignored.

    Args:
        classifier: A `keras.Model` mapping images to logits.
        eps: Perturbation budget (> 0) in the units of the images.
        beta: Weight (>= 0) of the KL term.
        steps: Inner maximization steps (>= 1).
        step_size: Inner step; None gives `2.5 * eps / steps`.
        seed: Optional int seed of the random starts.
        norm: "inf" or "l2".
        clip: `(min, max)` valid image range, or None for unbounded.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If `classifier` is not a `keras.Model` or another
            argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    NESTED_MODELS = ("classifier",)

    def __init__(self, classifier, *, eps, beta=6.0, steps=10, step_size=None, seed=None, norm="inf",
                 clip=(0.0, 1.0), **kwargs):
        check_model_kwargs("TRADES", kwargs)
        if not isinstance(classifier, keras.Model):
            raise TypeError(f"`classifier` must be a keras.Model, got {type(classifier).__name__}.")
        norm = check_norm(norm)
        lo, hi = check_clip(clip)
        eps = check_eps(eps, norm=norm, clip=clip, allow_zero=False)
        beta = check_float(beta, "beta", lo=0.0)
        steps = check_positive_int(steps, "steps")
        step_size = (2.5 * eps / steps if step_size is None
                     else check_eps(step_size, name="step_size", norm=norm, clip=clip, allow_zero=False))
        seed = check_seed(seed)
        super().__init__(**kwargs)
        self.classifier = classifier
        self.eps = eps
        self.beta = beta
        self.steps = steps
        self.step_size = step_size
        self.seed = seed
        self.norm = norm
        self.clip = None if clip is None else (lo, hi)
        self._bounds = (lo, hi)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.natural_loss_tracker = keras.metrics.Mean(name=self.FIRST_TERM)
        self.robust_loss_tracker = keras.metrics.Mean(name="robust_loss")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.adv_accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="adv_accuracy")
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.natural_loss_tracker, self.robust_loss_tracker, self.accuracy_tracker,
                self.adv_accuracy_tracker]

    def call(self, x, training=False):
        """Returns the classifier's logits."""
        return self.classifier(x, training=training)

    def adversarial_batch(self, x, y=None):
        """TRADES' inner maximization: the points of the ball whose predictions differ most from `f(x)`.

        Args:
            x: Images `[N, H, W, C]` inside `clip`.
            y: Integer labels `[N]`; unused by TRADES (its inner loss needs
                none), used by subclasses whose inner loss is the CE.

        Returns:
            float32 `x'`, same shape, within `eps` of `x` (in `norm`) and
            inside `clip`; a constant (no gradient).
        """
        x = tf.cast(x, tf.float32)
        lo, hi = self._bounds
        eps = tf.constant(self.eps, tf.float32)
        seed = keras.random.randint((2,), 0, 2 ** 31 - 1, seed=self.seed_generator, dtype="int32")
        # Under a tf.distribute strategy each replica takes its rows of one draw for the global batch.
        noise = replica_rows(lambda n: tf.random.stateless_normal(tf.concat([[n], tf.shape(x)[1:]], 0), seed),
                             tf.shape(x)[0])
        x_adv = kernels.project(x + START_SCALE * noise, x, eps, self.norm, lo, hi)
        clean_probs = tf.stop_gradient(tf.nn.softmax(self.classifier(x, training=False)))
        for _ in range(self.steps):  # a static, short loop
            with tf.GradientTape() as tape:
                tape.watch(x_adv)
                inner = tf.reduce_sum(self.inner_loss(clean_probs, self.classifier(x_adv, training=False), y))
            x_adv = ascent_step(x_adv, tape.gradient(inner, x_adv), x, eps, self.step_size, self.norm, lo, hi)
        return tf.stop_gradient(x_adv)

    def inner_loss(self, clean_probs, adv_logits, y):
        """Per-example loss the inner maximization ascends: `KL(f(x) || f(x'))`."""
        del y
        return kl_divergence(clean_probs, adv_logits)

    def outer_losses(self, y, clean_logits, adv_logits):
        """Per-example (first term, robust term) of the training loss: `CE(y, f(x))` and the KL."""
        return (keras.losses.sparse_categorical_crossentropy(y, clean_logits, from_logits=True),
                kl_divergence(tf.nn.softmax(clean_logits), adv_logits))

    def train_step(self, data):
        x, y, sample_weight = unpack_labeled(data, type(self).__name__)
        x_adv = self.adversarial_batch(x, y)
        with tf.GradientTape() as tape:
            clean_logits = self.classifier(x, training=True)
            adv_logits = self.classifier(x_adv, training=True)
            first, robust = self.outer_losses(y, clean_logits, adv_logits)
            natural_loss = batch_mean(first, sample_weight)
            robust_loss = batch_mean(robust, sample_weight)
            loss = natural_loss + self.beta * robust_loss
            scaled = scale_for_replicas(loss, ops.shape(x)[0])
        variables = self.classifier.trainable_variables
        self.optimizer.apply(tape.gradient(scaled, variables), variables)
        for tracker, value in ((self.loss_tracker, loss), (self.natural_loss_tracker, natural_loss),
                               (self.robust_loss_tracker, robust_loss)):
            tracker.update_state(value)
        self.accuracy_tracker.update_state(y, clean_logits, sample_weight=sample_weight)
        self.adv_accuracy_tracker.update_state(y, adv_logits, sample_weight=sample_weight)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        return clean_test_step(self, data, self.loss_tracker, self.accuracy_tracker, type(self).__name__)

    def trainer_config(self):
        return {
            "eps": self.eps,
            "beta": self.beta,
            "steps": self.steps,
            "step_size": self.step_size,
            "seed": self.seed,
            "norm": self.norm,
            "clip": self.clip,
        }
