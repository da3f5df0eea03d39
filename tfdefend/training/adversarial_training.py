"""Adversarial training with FGSM or PGD examples generated on the fly (Goodfellow 2015, Madry 2018)."""

import keras
import tensorflow as tf

from tfdefend.attacks import kernels, resolve
from tfdefend.training._adversarial_steps import (
    ADV_ACCURACIES,
    AdversarialTrainer,
    ascent_step,
    check_budget,
    check_step_size,
    cross_entropy,
    global_draw,
)
from tfdefend.training.nested_config import check_models
from tfdefend.utils.validation import check_float, check_model_kwargs, check_positive_int, check_seed

_ATTACKS = ("fgsm", "pgd")


def _check_attack(attack):
    """The registry name of `attack` (case-insensitive), which must be one this trainer runs in the graph."""
    message = f"`attack` must be one of {list(_ATTACKS)}, got {attack!r}."
    if not isinstance(attack, str):
        raise ValueError(message)
    try:
        return resolve(attack.lower(), choices=_ATTACKS)[0]
    except ValueError:
        raise ValueError(message) from None


@keras.saving.register_keras_serializable(package="tfdefend")
class AdversarialTraining(AdversarialTrainer):
    """Trains a classifier on a mix of clean and adversarial batches.

    Each training step builds the adversarial batch in the graph (no NumPy,
    no cached attack function): `attack="fgsm"` takes one step of size
    `eps` along the sign (L-inf) or normalized (L2) gradient of the
    cross-entropy of the true labels; `attack="pgd"` starts from a uniform
    random point of the `eps`-ball (if `random_start`) and takes `steps`
    steps of `step_size`, projecting onto the ball and into `clip` after
    each. `attack="fgsm", random_start=True` is Wong et al.'s fast
    adversarial training (ICLR 2020): FGSM from a uniform random point of
    the ball, with a step of `1.25 * eps` by default; pair it with
    `one_cycle_schedule` and `RobustAccuracyGuard` (catastrophic
    overfitting). The attack sees the classifier in inference mode and its
    result is a constant for the weight update. The loss is

        loss = (1 - ratio) * CE(y, f(x)) + ratio * CE(y, f(x_adv)),

    so `ratio=0.5` with FGSM is Goodfellow et al.'s adversarial training
    (the Deep Defense paper's "Adv. Train I") and `ratio=1` with PGD is
    Madry et al.'s PGD-AT. Training metrics: `loss`, `clean_loss`,
    `adv_loss`, `accuracy` (clean) and `adv_accuracy`, all on the training
    batch. `evaluate` reports the clean `loss` and `accuracy` only (attack
    the trained classifier with `tfdefend.attacks` for robust accuracy).

    Usage: `AdversarialTraining(classifier, attack="pgd", eps=0.1, ratio=1.0)`,
    `.compile(optimizer=...)`, `.fit(x, y)`; a loss or metrics given to
    `compile` are ignored. `call(x)` returns `classifier(x)`; the model to
    deploy is `.classifier`, trained in place.

    Args:
        classifier: A `keras.Model` mapping images to logits.
        attack: "fgsm" or "pgd".
        eps: Perturbation budget (> 0) in the units of the images.
        steps: PGD iterations (>= 1; FGSM always takes one step).
        step_size: The attack's step; None gives `2.5 * eps / steps` for
            PGD (Madry et al.), `eps` for FGSM and `1.25 * eps` for FGSM
            from a random start (Wong et al.).
        ratio: Weight of the adversarial loss, in [0, 1].
        random_start: Start from a uniform random point of the ball; None
            (default) means True for PGD and False for FGSM.
        seed: Optional int seed of the random starts.
        norm: "inf" or "l2".
        clip: `(min, max)` valid image range, or None for unbounded.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If `classifier` is not a `keras.Model` or another
            argument has the wrong type.
        ValueError: If an argument is out of range or `attack` is unknown.
    """

    CONFIG_KEYS = ("attack", "eps", "steps", "step_size", "ratio", "random_start", "seed", "norm", "clip")

    def __init__(self, classifier, *, attack="fgsm", eps, steps=7, step_size=None, ratio=0.5,
                 random_start=None, seed=None, norm="inf", clip=(0.0, 1.0), **kwargs):
        check_model_kwargs("AdversarialTraining", kwargs)
        check_models({"classifier": classifier})
        attack = _check_attack(attack)
        eps, norm, lo, hi = check_budget(eps, norm, clip)
        steps = 1 if attack == "fgsm" else check_positive_int(steps, "steps")
        if random_start is None:
            random_start = attack == "pgd"
        if not isinstance(random_start, bool):
            raise TypeError(f"`random_start` must be a bool or None, got {type(random_start).__name__}.")
        if step_size is None:
            step_size = 2.5 * eps / steps if attack == "pgd" else (1.25 * eps if random_start else eps)
        else:
            step_size = check_step_size(step_size, norm, clip)
        ratio = check_float(ratio, "ratio", lo=0.0, hi=1.0)
        seed = check_seed(seed)
        super().__init__(**kwargs)
        self._set_attack(classifier, eps, steps, step_size, seed, norm, clip, lo, hi, attack=attack,
                         ratio=ratio, random_start=random_start)
        self.add_trackers({"loss_tracker": "loss", "clean_loss_tracker": "clean_loss",
                           "adv_loss_tracker": "adv_loss"}, ADV_ACCURACIES)
        self.built = True

    def adversarial_batch(self, x, y):
        """The adversarial examples of a batch, built in the graph.

        Args:
            x: Images `[N, H, W, C]` inside `clip`.
            y: Integer labels `[N]` (the attack raises their cross-entropy).

        Returns:
            float32 `x_adv`, same shape, within `eps` of `x` (in `norm`) and
            inside `clip`; a constant (no gradient).
        """
        x = tf.cast(x, tf.float32)
        y = tf.reshape(tf.cast(y, tf.int32), [-1])
        lo, hi = self._bounds
        eps = tf.constant(self.eps, tf.float32)
        if self.random_start:
            start = global_draw(
                self.seed_generator, x,
                lambda shape, seed: kernels.random_start(tf.zeros(shape), eps, self.norm, seed))
            x_adv = kernels.project(x + start, x, eps, self.norm, lo, hi)
        else:
            x_adv = x
        for _ in range(self.steps):  # a static, short loop: 1 (FGSM) or `steps` (PGD) gradient steps
            grad = kernels.loss_gradient(self.classifier, x_adv, y)
            x_adv = ascent_step(x_adv, grad, x, eps, self.step_size, self.norm, lo, hi)
        return tf.stop_gradient(x_adv)

    def training_losses(self, x, x_adv, y, sample_weight):
        """`(clean logits, adversarial logits, (loss, clean_loss, adv_loss))` of a batch (inside the tape)."""
        # A term with weight 0 is computed in inference mode (no batch-norm update from it).
        clean_logits = self.classifier(x, training=self.ratio < 1.0)
        adv_logits = self.classifier(x_adv, training=self.ratio > 0.0)
        clean_loss = cross_entropy(y, clean_logits, sample_weight)
        adv_loss = cross_entropy(y, adv_logits, sample_weight)
        loss = (1.0 - self.ratio) * clean_loss + self.ratio * adv_loss
        return clean_logits, adv_logits, (loss, clean_loss, adv_loss)
