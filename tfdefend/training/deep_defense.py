"""Deep Defense: training with an adversarial-perturbation regularizer (Yan et al., NeurIPS 2018)."""

import keras
import tensorflow as tf
from keras import ops

from tfdefend.attacks.deepfool import check_second_order_steps, deepfool_perturbation_and_logits
from tfdefend.training._adversarial_steps import cross_entropy, unpack_labeled
from tfdefend.training._losses import batch_mean
from tfdefend.training.nested_config import NestedModelTrainer, check_models
from tfdefend.utils.distribute import scale_for_replicas
from tfdefend.utils.synchronize_batch_norm import batch_norm_layers
from tfdefend.utils.validation import check_model_kwargs, check_non_negative_float, check_positive_int

_TINY = 1e-12  # floor of ||x||_2 and of the squared norm of r (finite gradients at 0)


def _per_sample_l2(t):
    """Per-sample L2 norm `[N]`, with a finite gradient at 0."""
    t = ops.reshape(t, (ops.shape(t)[0], -1))
    return ops.sqrt(ops.maximum(ops.sum(ops.square(t), axis=1), _TINY))


def _freeze_batch_norm(model):
    """Sets every BatchNormalization layer inside `model` (nested ones too) to `trainable=False`."""
    layers = batch_norm_layers(model)
    for layer in layers:
        layer.trainable = False
    return len(layers)


@keras.saving.register_keras_serializable(package="tfdefend")
class DeepDefense(NestedModelTrainer):
    """Fine-tunes a classifier with the Deep Defense regularizer (Yan et al., 2018).

    Each training step computes the DeepFool perturbation `r(x)` of the
    batch with `deepfool_steps` unrolled, batched iterations of
    `tfdefend.attacks.deepfool_perturbation` (whose first iteration also
    gives the clean logits) *inside* the gradient tape and
    without `stop_gradient`, so the regularizer's gradient flows through
    `r(x)` into the weights (the paper's "recursive network"). An iteration
    runs on the rows that have not crossed yet only (the same result; under
    `jit_compile=True` all rows, masked, as XLA needs static shapes). With
    `ratio = ||r(x)||_2 / ||x||_2` per sample, the loss is

        loss = CE(y, f(x)) + lam * mean_batch(R),
        R = exp(-c * ratio)  for correctly classified samples,
        R = exp(d * ratio)   for misclassified ones,

    the batch mean taken over all samples (as the reference code: the two
    sums divided by the batch size). A correctly classified sample gets the
    untargeted DeepFool perturbation (it is pushed away from its nearest
    boundary); a misclassified one gets the perturbation that takes it to
    its true label (the reference code's `forward_wrong`), which the
    regularizer shrinks. "Correct" means the inference-mode prediction (the
    one DeepFool starts from) equals the label. DeepFool runs the classifier
    in inference mode; the cross-entropy uses `training=True` (dropout on).

    Paper recipe (fine-tuning a pretrained model): lam=15, c=25, d=5, at
    most 5 DeepFool iterations over all classes (`num_candidates=10`),
    learning rate 5e-4 halved at 80% of 5 epochs, batch 100, batch norm
    frozen. The reference code used SGD with momentum 0.9 and weight decay
    5e-4.

    Usage: `DeepDefense(classifier).compile(optimizer=keras.optimizers.Adam(5e-4))`,
    then `fit(x, y, batch_size=100, epochs=5)`; a loss or metrics given to
    `compile` are ignored. Training metrics: `loss`, `ce_loss`,
    `regularizer` (the batch mean of R, before `lam`), `rho2` (mean ratio
    over the correctly classified samples of the batch) and `accuracy`.
    `evaluate` runs no DeepFool and reports `loss` (= `ce_loss`), `ce_loss`
    and `accuracy`; use `tfdefend.evaluation.rho2` for the full metric.
    `call(x)` returns `classifier(x)`; the model to deploy is
    `deep_defense.classifier`, which is trained in place.

    Args:
        classifier: A `keras.Model` mapping images to logits.
        lam: Weight of the regularizer (>= 0; 0 is plain fine-tuning and
            skips DeepFool, so `rho2` stays 0).
        c: Exponent scale for correctly classified samples (>= 0).
        d: Exponent scale for misclassified samples (>= 0).
        deepfool_steps: DeepFool iterations unrolled per step (>= 1).
        overshoot: DeepFool overshoot (>= 0).
        num_candidates: Top classes of the clean logits DeepFool considers
            (>= 2; clamped to the number of classes). Each iteration costs
            `num_candidates - 1` input gradients, all back-propagated again
            for the weights. The default 2 (the runner-up class) trained a
            Fashion-MNIST CNN to a rho2 within 2% of all 10 classes in a
            quarter of the time (`benchmarks/deep_defense_variants.py`);
            10 is the paper's full DeepFool.
        second_order_steps: None (the paper's exact gradient): the
            regularizer's gradient flows through the boundary normals of
            every DeepFool iteration, i.e. through input gradients (double
            backward passes). An int `n` <= `deepfool_steps`: only the
            first `n` iterations' normals carry gradient, later ones are
            held constant -- an approximation of the gradient (the loss
            value is the same) that skips those double backward passes;
            see `deepfool_perturbation` (between 1 and `deepfool_steps` - 1
            it needs `deepfool_steps` <= 8).
        freeze_batch_norm: If True (the paper's setting), the constructor
            sets every `BatchNormalization` layer of the classifier to
            `trainable=False` (it mutates the model passed in). A frozen
            Keras 3 batch-norm layer runs in inference mode even when called
            with `training=True`, so its moving statistics and its
            gamma/beta stay as they are.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If `classifier` is not a `keras.Model` or another
            argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    NESTED_MODELS = ("classifier",)
    CONFIG_KEYS = ("lam", "c", "d", "deepfool_steps", "overshoot", "num_candidates", "second_order_steps",
                   "freeze_batch_norm")

    def __init__(self, classifier, *, lam=15.0, c=25.0, d=5.0, deepfool_steps=5, overshoot=0.02,
                 num_candidates=2, second_order_steps=None, freeze_batch_norm=True, **kwargs):
        check_model_kwargs("DeepDefense", kwargs)
        check_models({"classifier": classifier})
        lam = check_non_negative_float(lam, "lam")
        c = check_non_negative_float(c, "c")
        d = check_non_negative_float(d, "d")
        deepfool_steps = check_positive_int(deepfool_steps, "deepfool_steps")
        overshoot = check_non_negative_float(overshoot, "overshoot")
        num_candidates = check_positive_int(num_candidates, "num_candidates", minimum=2)
        if second_order_steps is not None:
            second_order_steps = check_positive_int(second_order_steps, "second_order_steps", minimum=0)
            if second_order_steps > deepfool_steps:
                raise ValueError(f"`second_order_steps` must be None or at most `deepfool_steps` "
                                 f"({deepfool_steps}), got {second_order_steps}.")
            check_second_order_steps(second_order_steps, deepfool_steps, "deepfool_steps")
        if not isinstance(freeze_batch_norm, bool):
            raise TypeError(f"`freeze_batch_norm` must be a bool, got {type(freeze_batch_norm).__name__}.")
        super().__init__(**kwargs)
        if freeze_batch_norm:
            _freeze_batch_norm(classifier)
        self.store(classifier=classifier, lam=lam, c=c, d=d, deepfool_steps=deepfool_steps,
                   overshoot=overshoot, num_candidates=num_candidates, second_order_steps=second_order_steps,
                   freeze_batch_norm=freeze_batch_norm)
        self.add_trackers({"loss_tracker": "loss", "ce_loss_tracker": "ce_loss",
                           "regularizer_tracker": "regularizer", "rho2_tracker": "rho2"},
                          {"accuracy_tracker": "accuracy"})
        self.built = True

    def call(self, x, training=False):
        """Returns the classifier's logits."""
        return self.classifier(x, training=training)

    def perturbation_ratio(self, x, y):
        """Differentiable DeepFool ratios of a batch.

        Args:
            x: Images `[N, H, W, C]`.
            y: Integer labels `[N]`.

        Returns:
            `(ratio, correct)`: `||r(x)||_2 / ||x||_2` per sample (float32
            `[N]`, differentiable w.r.t. the classifier's weights) and
            whether the inference-mode prediction equals `y` (bool `[N]`).
        """
        x = ops.cast(x, "float32")
        y = ops.reshape(ops.cast(y, "int32"), (-1,))
        # Under XLA (`jit_compile=True`) shapes must be static: no gathering of the active rows.
        compact = not bool(getattr(self, "jit_compile", False))
        r, logits = deepfool_perturbation_and_logits(
            self.classifier, x, steps=self.deepfool_steps, overshoot=self.overshoot,
            num_candidates=self.num_candidates, labels=y, compact=compact,
            second_order_steps=self.second_order_steps)
        correct = ops.equal(ops.cast(ops.argmax(logits, axis=-1), "int32"), y)
        ratio = _per_sample_l2(r) / _per_sample_l2(x)
        return ratio, correct

    def compute_losses(self, x, y, sample_weight=None, training=True):
        """The Deep Defense objective of one batch (call it inside a `GradientTape`).

        Args:
            x: Images `[N, H, W, C]`.
            y: Integer labels `[N]`.
            sample_weight: Optional per-sample weights `[N]`.
            training: Passed to the classifier for the cross-entropy.

        Returns:
            A dict of `loss`, `ce_loss`, `regularizer` (batch mean of R),
            `ratio` and `correct` (per sample; None when `lam` is 0) and
            `logits`.
        """
        x = ops.cast(x, "float32")
        y = ops.reshape(ops.cast(y, "int32"), (-1,))
        logits = self.classifier(x, training=training)
        ce = cross_entropy(y, logits, sample_weight)
        if self.lam == 0.0:
            zero = ops.zeros((), logits.dtype)
            return {"loss": ce, "ce_loss": ce, "regularizer": zero, "ratio": None, "correct": None,
                    "logits": logits}
        ratio, correct = self.perturbation_ratio(x, y)
        r_values = ops.where(correct, ops.exp(-self.c * ratio), ops.exp(self.d * ratio))
        regularizer = batch_mean(r_values, sample_weight)
        return {"loss": ce + self.lam * regularizer, "ce_loss": ce, "regularizer": regularizer,
                "ratio": ratio, "correct": correct, "logits": logits}

    def train_step(self, data):
        x, y, sample_weight = unpack_labeled(data, "DeepDefense")
        with tf.GradientTape() as tape:
            terms = self.compute_losses(x, y, sample_weight, training=True)  # DeepFool runs per replica
            # Replicas' gradients are summed: differentiate this replica's share of the global-batch mean.
            scaled = scale_for_replicas(terms["loss"], ops.shape(terms["logits"])[0])
        self.descend(tape, scaled, self.classifier.trainable_variables)
        self.update_trackers((tracker, terms[tracker.name]) for tracker in self.metrics[:3])
        if terms["ratio"] is not None:
            correct = ops.cast(terms["correct"], "float32")
            self.rho2_tracker.update_state(terms["ratio"], sample_weight=correct)
        self.accuracy_tracker.update_state(y, terms["logits"], sample_weight=sample_weight)
        return self.metric_results()

    def test_step(self, data):
        x, y, sample_weight = unpack_labeled(data, "DeepDefense")
        logits = self.classifier(x, training=False)
        ce = cross_entropy(y, logits, sample_weight)
        self.update_trackers(((self.loss_tracker, ce), (self.ce_loss_tracker, ce)))
        self.accuracy_tracker.update_state(y, logits, sample_weight=sample_weight)
        return self.metric_results((self.loss_tracker, self.ce_loss_tracker, self.accuracy_tracker))
