"""BPDA: Backward Pass Differentiable Approximation (Athalye et al., ICML 2018)."""

import tensorflow as tf

from tfdefend.utils.calling import call_model, image_input_shape


class BPDAModel:
    """A callable `x -> logits` whose forward pass is the real defended model
    and whose backward pass goes through a differentiable approximation of the
    preprocessor.

    Forward: `classifier(preprocessor(x))`, exactly. Backward: the gradient
    of `classifier(approximation(x))` — by default `approximation` is the
    identity (the "straight-through" BPDA that breaks JPEG, quantization,
    median filters and binarized codes alike). The trick is
    `a(x) + stop_gradient(g(x) - a(x))`, which equals `g(x)` in value and
    has the gradient of `a`.

    Every attack in `tfdefend.attacks` takes it as its `model`. Build it once
    and reuse it: attacks cache their compiled graph per model object.

    Attributes:
        forward_model: `classifier(preprocessor(x))` alone (same values, no
            approximation computed), for gradient-free attacks and checks.
        preprocessor: The real (possibly non-differentiable) input transform.
        classifier: The classifier returning logits.
        approximation: The differentiable stand-in used for gradients, or
            None for the identity.
    """

    def __init__(self, preprocessor, classifier, approximation=None):
        for name, value in (("preprocessor", preprocessor), ("classifier", classifier)):
            if not callable(value):
                raise TypeError(f"`{name}` must be callable, got {type(value).__name__}.")
        if approximation is not None and not callable(approximation):
            raise TypeError(f"`approximation` must be callable or None, got {type(approximation).__name__}.")
        self.preprocessor = preprocessor
        self.classifier = classifier
        self.approximation = approximation
        self.forward_model = _Composed(preprocessor, classifier)

    @property
    def input_shape(self):
        """`(None, H, W, C)` of the preprocessor, else of the classifier (AttributeError if neither)."""
        for part in (self.preprocessor, self.classifier):
            shape = image_input_shape(part)
            if shape is not None:
                return (None, *shape)
        raise AttributeError("input_shape")

    def purify(self, x):
        """The defended input: forward value of the preprocessor, approximate gradient."""
        x = tf.convert_to_tensor(x, tf.float32)
        approx = x if self.approximation is None else call_model(self.approximation, x)
        return approx + tf.stop_gradient(call_model(self.preprocessor, x) - approx)

    def __call__(self, x):
        return call_model(self.classifier, self.purify(x))


class _Composed:
    """`classifier(preprocessor(x))` without the approximation: the forward pass alone, half the work.

    Score-based attacks and accuracy checks need no gradient, so they call
    this (`BPDAModel.forward_model`, a stable object for the attack cache).
    """

    def __init__(self, preprocessor, classifier):
        self.preprocessor, self.classifier = preprocessor, classifier

    def __call__(self, x):
        return call_model(self.classifier, call_model(self.preprocessor, tf.convert_to_tensor(x, tf.float32)))


def bpda(defended=None, *, preprocessor=None, classifier=None, approximation=None):
    """Wraps a preprocessing defense for BPDA attacks.

    Args:
        defended: A model with `preprocessor` and `classifier` attributes
            (e.g. `tfdefend.models.DefendedClassifier`); or give both
            `preprocessor` and `classifier` instead.
        preprocessor: The input transform (when `defended` is None).
        classifier: The classifier returning logits (when `defended` is None).
        approximation: Differentiable `x -> x'` used on the backward pass;
            "identity" for the straight-through identity; None (default)
            uses the preprocessor's own `differentiable_approximation`
            method when it has one (e.g. ComDefend's straight-through
            binarizer, which approximates only the non-differentiable
            step), else the identity.

    Returns:
        A `BPDAModel`, usable as the `model` of any attack.

    Raises:
        ValueError: If neither `defended` nor both parts are given, or both are.
        TypeError: If a part is not callable.

    Example:
        >>> x_adv = pgd(bpda(defended), x, y, eps=0.1, step_size=0.01, steps=40)
    """
    if defended is not None:
        if preprocessor is not None or classifier is not None:
            raise ValueError("Give either `defended` or `preprocessor` + `classifier`, not both.")
        if not (hasattr(defended, "preprocessor") and hasattr(defended, "classifier")):
            raise TypeError("`defended` must have `preprocessor` and `classifier` attributes "
                            f"(e.g. a DefendedClassifier), got {type(defended).__name__}.")
        preprocessor, classifier = defended.preprocessor, defended.classifier
    elif preprocessor is None or classifier is None:
        raise ValueError("Give `defended`, or both `preprocessor` and `classifier`.")
    if approximation is None:
        approximation = getattr(preprocessor, "differentiable_approximation", None)
    elif isinstance(approximation, str):
        if approximation != "identity":
            raise ValueError(f"`approximation` must be a callable, 'identity' or None, got {approximation!r}.")
        approximation = None
    return BPDAModel(preprocessor, classifier, approximation)
