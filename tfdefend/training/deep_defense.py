"""Deep Defense: training with an adversarial-perturbation regularizer (Yan et al., NeurIPS 2018)."""

import keras
import tensorflow as tf
from keras import ops

from tfdefend.attacks.deepfool import MAX_UNROLLED_STEPS, deepfool_perturbation_and_logits
from tfdefend.training._losses import batch_mean
from tfdefend.training.nested_config import NestedModelTrainer
from tfdefend.utils.distribute import scale_for_replicas
from tfdefend.utils.validation import check_model_kwargs, check_non_negative_float, check_positive_int

_TINY = 1e-12  # floor of ||x||_2 and of the squared norm of r (finite gradients at 0)


def _per_sample_l2(t):
    """Per-sample L2 norm `[N]`, with a finite gradient at 0."""
    t = ops.reshape(t, (ops.shape(t)[0], -1))
    return ops.sqrt(ops.maximum(ops.sum(ops.square(t), axis=1), _TINY))


def _freeze_batch_norm(model):
    """Sets every BatchNormalization layer inside `model` (nested ones too) to `trainable=False`."""
    frozen = 0
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
            frozen += 1
    return frozen


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

    def __init__(self, classifier, *, lam=15.0, c=25.0, d=5.0, deepfool_steps=5, overshoot=0.02,
                 num_candidates=2, second_order_steps=None, freeze_batch_norm=True, **kwargs):
        check_model_kwargs("DeepDefense", kwargs)
        if not isinstance(classifier, keras.Model):
            raise TypeError(f"`classifier` must be a keras.Model, got {type(classifier).__name__}.")
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
            if 0 < second_order_steps < deepfool_steps and deepfool_steps > MAX_UNROLLED_STEPS:
                raise ValueError(f"`second_order_steps` between 1 and `deepfool_steps` - 1 needs "
                                 f"`deepfool_steps` <= {MAX_UNROLLED_STEPS}, got {deepfool_steps}.")
        if not isinstance(freeze_batch_norm, bool):
            raise TypeError(f"`freeze_batch_norm` must be a bool, got {type(freeze_batch_norm).__name__}.")
        super().__init__(**kwargs)
        if freeze_batch_norm:
            _freeze_batch_norm(classifier)
        self.classifier = classifier
        self.lam = lam
        self.c = c
        self.d = d
        self.deepfool_steps = deepfool_steps
        self.overshoot = overshoot
        self.num_candidates = num_candidates
        self.second_order_steps = second_order_steps
        self.freeze_batch_norm = freeze_batch_norm
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.ce_loss_tracker = keras.metrics.Mean(name="ce_loss")
        self.regularizer_tracker = keras.metrics.Mean(name="regularizer")
        self.rho2_tracker = keras.metrics.Mean(name="rho2")
        self.accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.ce_loss_tracker, self.regularizer_tracker, self.rho2_tracker,
                self.accuracy_tracker]

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
        ce = batch_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True),
                        sample_weight)
        if self.lam == 0.0:
            zero = ops.zeros((), logits.dtype)
            return {"loss": ce, "ce_loss": ce, "regularizer": zero, "ratio": None, "correct": None,
                    "logits": logits}
        ratio, correct = self.perturbation_ratio(x, y)
        r_values = ops.where(correct, ops.exp(-self.c * ratio), ops.exp(self.d * ratio))
        regularizer = batch_mean(r_values, sample_weight)
        return {"loss": ce + self.lam * regularizer, "ce_loss": ce, "regularizer": regularizer,
                "ratio": ratio, "correct": correct, "logits": logits}

    @staticmethod
    def _unpack(data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            raise ValueError("DeepDefense needs integer labels: call fit(x, y).")
        return x, y, sample_weight

    def train_step(self, data):
        x, y, sample_weight = self._unpack(data)
        with tf.GradientTape() as tape:
            terms = self.compute_losses(x, y, sample_weight, training=True)  # DeepFool runs per replica
            # Replicas' gradients are summed: differentiate this replica's share of the global-batch mean.
            scaled = scale_for_replicas(terms["loss"], ops.shape(terms["logits"])[0])
        variables = self.classifier.trainable_variables
        self.optimizer.apply(tape.gradient(scaled, variables), variables)
        self.loss_tracker.update_state(terms["loss"])
        self.ce_loss_tracker.update_state(terms["ce_loss"])
        self.regularizer_tracker.update_state(terms["regularizer"])
        if terms["ratio"] is not None:
            correct = ops.cast(terms["correct"], "float32")
            self.rho2_tracker.update_state(terms["ratio"], sample_weight=correct)
        self.accuracy_tracker.update_state(y, terms["logits"], sample_weight=sample_weight)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y, sample_weight = self._unpack(data)
        y = ops.reshape(ops.cast(y, "int32"), (-1,))
        logits = self.classifier(ops.cast(x, "float32"), training=False)
        ce = batch_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True),
                        sample_weight)
        self.loss_tracker.update_state(ce)
        self.ce_loss_tracker.update_state(ce)
        self.accuracy_tracker.update_state(y, logits, sample_weight=sample_weight)
        return {m.name: m.result() for m in (self.loss_tracker, self.ce_loss_tracker, self.accuracy_tracker)}

    def trainer_config(self):
        return {
            "lam": self.lam,
            "c": self.c,
            "d": self.d,
            "deepfool_steps": self.deepfool_steps,
            "overshoot": self.overshoot,
            "num_candidates": self.num_candidates,
            "second_order_steps": self.second_order_steps,
            "freeze_batch_norm": self.freeze_batch_norm,
        }
