"""High-level-representation guided denoiser training (HGD, Liao et al., CVPR 2018)."""

import keras
from keras import ops

from tfdefend.training._losses import batch_mean
from tfdefend.training.nested_config import NestedModelTrainer, check_models
from tfdefend.utils.distribute import scale_for_replicas
from tfdefend.utils.validation import check_model_kwargs, check_non_negative_float


@keras.saving.register_keras_serializable(package="tfdefend")
class GuidedDenoiserTraining(NestedModelTrainer):
    """Trains a denoiser so that a frozen classifier's logits match on denoised and clean images.

    This is the logit-guided denoiser loss (LGD) of HGD, also used by UDDN:
    with `x_hat = denoiser(x_adv)` and `f` the classifier's logits,

        loss = guidance_weight * mean|f(x_hat) - f(x_clean)| + pixel_weight * mean|x_hat - x_clean|

    (L1 means per sample, then over the batch), plus any layer losses of the
    denoiser. Train with `compile(optimizer=...)` and `fit(x_adv, x_clean)`;
    a loss given to `compile` is ignored. Tracked metrics: Keras' `loss`,
    `guidance_loss` and `pixel_loss`.

    The constructor sets `classifier.trainable = False` (it mutates the
    classifier passed in), so only `denoiser.trainable_variables` are
    updated; the classifier is always called with `training=False`, so its
    batch-norm statistics never change either.

    `call(x)` returns `denoiser(x)`; the model to deploy is `denoiser` in
    front of the classifier (e.g. a `DefendedClassifier`).

    Args:
        denoiser: An image-to-image `keras.Model`.
        classifier: A trained `keras.Model` mapping images to logits.
        guidance_weight: Weight of the logit (high-level) L1 term (>= 0).
        pixel_weight: Weight of the pixel L1 term (>= 0); the two weights
            must not both be zero.
        **kwargs: `name` and `trainable`, passed to `keras.Model`.

    Raises:
        TypeError: If `denoiser` or `classifier` is not a `keras.Model` or a
            weight has the wrong type.
        ValueError: If a weight is negative or both are zero.
    """

    NESTED_MODELS = ("denoiser", "classifier")
    CONFIG_KEYS = ("guidance_weight", "pixel_weight")

    def __init__(self, denoiser, classifier, *, guidance_weight=1.0, pixel_weight=0.0, **kwargs):
        check_model_kwargs("GuidedDenoiserTraining", kwargs)
        check_models({"denoiser": denoiser, "classifier": classifier}, distinct=True)
        guidance_weight = check_non_negative_float(guidance_weight, "guidance_weight")
        pixel_weight = check_non_negative_float(pixel_weight, "pixel_weight")
        if guidance_weight == 0 and pixel_weight == 0:
            raise ValueError("`guidance_weight` and `pixel_weight` are both 0: there is nothing to train on.")
        super().__init__(**kwargs)
        classifier.trainable = False
        self.store(denoiser=denoiser, classifier=classifier, guidance_weight=guidance_weight,
                   pixel_weight=pixel_weight)
        self.add_trackers({"guidance_tracker": "guidance_loss", "pixel_tracker": "pixel_loss"},
                          own_metrics=False)  # `metrics` stays Keras' default
        if denoiser.built:
            self.built = True

    def call(self, x, training=False):
        """Returns the denoised images `denoiser(x)`."""
        return self.denoiser(x, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The guided loss of `y_pred = denoiser(x)` against clean targets `y`.

        Args:
            x: Adversarial (or noisy) images; only used if `y_pred` is None.
            y: Clean images, same shape as `y_pred`.
            y_pred: Denoised images; computed as `self(x)` if None.
            sample_weight: Optional per-sample weights `[N]`.
            training: Mode of the denoiser forward pass if `y_pred` is None.

        Returns:
            The scalar total loss (weighted terms plus the layer losses in
            `self.losses`); in a multi-replica `tf.distribute` context, this
            replica's share of the global-batch mean (`scale_for_replicas`).

        Raises:
            ValueError: If `y` (the clean images) is None.
        """
        if y is None:
            raise ValueError("GuidedDenoiserTraining needs clean targets: call fit(x_adv, x_clean).")
        if y_pred is None:
            y_pred = self(x, training=training)
        y = ops.cast(y, y_pred.dtype)
        logits_denoised = self.classifier(y_pred, training=False)
        logits_clean = ops.stop_gradient(self.classifier(y, training=False))
        guidance = batch_mean(_per_sample_l1(logits_denoised, logits_clean), sample_weight)
        pixel = batch_mean(_per_sample_l1(y_pred, y), sample_weight)
        total = self.guidance_weight * guidance + self.pixel_weight * pixel
        if self.losses:
            total = total + ops.sum(ops.stack([ops.cast(loss, total.dtype) for loss in self.losses]))
        self.update_trackers(((self.guidance_tracker, guidance), (self.pixel_tracker, pixel)))
        return scale_for_replicas(total, ops.shape(y_pred)[0])



def _per_sample_l1(a, b):
    """Mean absolute difference per sample, shape `[N]`."""
    return ops.mean(ops.abs(a - b), axis=tuple(range(1, len(a.shape))))
