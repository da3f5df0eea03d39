"""EOT: Expectation Over Transformation (Athalye et al., 2018) for randomized defenses."""

import tensorflow as tf

from tfdefend.utils.calling import call_model
from tfdefend.utils.validation import check_positive_int

_REDUCTIONS = ("probabilities", "logits")


class EOTModel:
    """A callable `x -> logits` averaging a randomized model over `samples` draws.

    The batch is tiled `samples` times and run in one call, so the
    randomness of the wrapped model (random resizing, noise, random masks)
    is drawn independently per copy; the outputs are averaged per image.
    With `reduce="probabilities"` (default) the softmax outputs are averaged
    and their log is returned as logits, so the cross-entropy gradient an
    attack takes is that of the expected classifier; `reduce="logits"`
    averages logits.

    Wrap a `BPDAModel` in it for BPDA+EOT. Build it once and reuse it.
    """

    def __init__(self, model, samples=8, reduce="probabilities", training=False):
        if not callable(model):
            raise TypeError(f"`model` must be callable, got {type(model).__name__}.")
        if not isinstance(reduce, str) or reduce not in _REDUCTIONS:
            raise ValueError(f"`reduce` must be one of {_REDUCTIONS}, got {reduce!r}.")
        self.model = model
        self.samples = check_positive_int(samples, "samples")
        self.reduce = reduce
        self.training = bool(training)

    @property
    def input_shape(self):
        """The wrapped model's input shape (AttributeError if it has none)."""
        return self.model.input_shape

    def __call__(self, x):
        x = tf.convert_to_tensor(x, tf.float32)
        batch = tf.shape(x)[0]
        tiled = tf.tile(x, tf.concat([[self.samples], tf.ones([tf.rank(x) - 1], tf.int32)], 0))
        out = call_model(self.model, tiled, training=self.training)
        out = tf.reshape(tf.cast(out, tf.float32), tf.concat([[self.samples, batch], tf.shape(out)[1:]], 0))
        if self.reduce == "logits":
            return tf.reduce_mean(out, axis=0)
        # log of the mean probability, computed stably as a log-mean-exp of log-probabilities
        log_probs = tf.nn.log_softmax(out)
        return tf.reduce_logsumexp(log_probs, axis=0) - tf.math.log(float(self.samples))


def eot(model, *, samples=8, reduce="probabilities", training=False):
    """Wraps a randomized model (or a `BPDAModel`) for EOT attacks.

    Args:
        model: Callable returning logits whose output is random per call.
        samples: Number of random draws averaged per image.
        reduce: "probabilities" (average softmax, return its log) or "logits".
        training: Call a Keras model with `training=True` (for defenses whose
            randomness is only on in training mode).

    Returns:
        An `EOTModel`, usable as the `model` of any attack.
    """
    return EOTModel(model, samples=samples, reduce=reduce, training=training)
