"""TRADES: adversarial training by the trade-off between clean and boundary error (Zhang et al., ICML 2019)."""

import keras
import tensorflow as tf

from tfdefend.attacks import kernels
from tfdefend.training._adversarial_steps import (
    ADV_ACCURACIES,
    AdversarialTrainer,
    ascent_step,
    check_budget,
    check_step_size,
    global_draw,
)
from tfdefend.training._losses import batch_mean, kl_divergence
from tfdefend.training.nested_config import check_models
from tfdefend.utils.validation import check_float, check_model_kwargs, check_positive_int, check_seed

START_SCALE = 0.001  # the reference implementation's start: x + 0.001 * N(0, 1)


@keras.saving.register_keras_serializable(package="tfdefend")
class TRADES(AdversarialTrainer):
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
        seed: Optional int seed of the starting noise `0.001 * N(0, 1)`.
        norm, clip, **kwargs: As in `AdversarialTraining`: "inf" or "l2";
            the `(min, max)` valid image range, or None for unbounded;
            `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If `classifier` is not a `keras.Model` or another
            argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    FIRST_TERM = "natural_loss"  # the name of the loss' first term in the training logs
    CONFIG_KEYS = ("eps", "beta", "steps", "step_size", "seed", "norm", "clip")

    def __init__(self, classifier, *, eps, beta=6.0, steps=10, step_size=None, seed=None, norm="inf",
                 clip=(0.0, 1.0), **kwargs):
        check_model_kwargs("TRADES", kwargs)
        check_models({"classifier": classifier})
        eps, norm, lo, hi = check_budget(eps, norm, clip)
        beta = check_float(beta, "beta", lo=0.0)
        steps = check_positive_int(steps, "steps")
        step_size = 2.5 * eps / steps if step_size is None else check_step_size(step_size, norm, clip)
        seed = check_seed(seed)
        super().__init__(**kwargs)
        self._set_attack(classifier, eps, steps, step_size, seed, norm, clip, lo, hi, beta=beta)
        self.add_trackers({"loss_tracker": "loss", "natural_loss_tracker": self.FIRST_TERM,
                           "robust_loss_tracker": "robust_loss"}, ADV_ACCURACIES)
        self.built = True

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
        noise = global_draw(self.seed_generator, x, tf.random.stateless_normal)
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

    def training_losses(self, x, x_adv, y, sample_weight):
        """`(clean logits, adversarial logits, (loss, first, robust term))` of a batch (inside the tape)."""
        clean_logits = self.classifier(x, training=True)
        adv_logits = self.classifier(x_adv, training=True)
        first, robust = self.outer_losses(y, clean_logits, adv_logits)
        natural_loss = batch_mean(first, sample_weight)
        robust_loss = batch_mean(robust, sample_weight)
        return clean_logits, adv_logits, (natural_loss + self.beta * robust_loss, natural_loss, robust_loss)
