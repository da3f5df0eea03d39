"""Parseval training (Cisse et al., ICML 2017): keep weight matrices close to orthonormal."""

import keras
from keras import ops

from tfdefend.utils.validation import check_float, check_positive_int


@keras.saving.register_keras_serializable(package="tfdefend")
class ParsevalConstraint(keras.constraints.Constraint):
    """The Parseval retraction `W <- (1 + beta) W - beta W W^T W` on a kernel.

    Applied after every optimizer update (Keras applies a variable's
    constraint right after `optimizer.apply`), it keeps the layer's weight
    matrix close to the Stiefel manifold, so the layer is (nearly) a
    Parseval tight frame and its Lipschitz constant stays near 1 (Cisse et
    al., 2017, Eq. 3). The map acts on each singular value as
    `s <- (1 + beta) s - beta s^3`, whose fixed point is `s = 1`.

    Orientation: the weight matrix `W` has one row per output unit, so its
    rows are the filters. A Dense kernel `(in, out)` is `W^T`; a convolution
    kernel `(kh, kw, in, out)` is reshaped to `(kh * kw * in, out)` = `W^T`,
    each column one flattened filter. Because `(W W^T W)^T = W^T W W^T`,
    the update has the same form on `W` and `W^T` and is applied to the
    reshaped kernel directly. When `out <= kh * kw * in` (or `out <= in`)
    it makes the rows of `W` orthonormal (`W W^T -> I`); otherwise the
    columns (`W^T W -> I`). Other kernel ranks are treated as `(-1, last)`.

    The paper's optional subsampling of rows and its convexity constraint
    on aggregation (residual) layers are not implemented.

    Args:
        beta: Retraction step (0 < beta <= 1); the paper uses 3e-4 with one
            pass per update. Larger values converge faster but are only
            stable for singular values below about `sqrt((1 + beta) / beta)`.
        num_passes: How many times the retraction is applied per call (>= 1).

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.
    """

    def __init__(self, beta=0.0003, num_passes=1):
        self.beta = check_float(beta, "beta", lo=0.0, lo_open=True, hi=1.0)
        self.num_passes = check_positive_int(num_passes, "num_passes")

    def __call__(self, w):
        w = ops.convert_to_tensor(w)
        shape = ops.shape(w)
        matrix = ops.reshape(w, (-1, shape[-1]))  # W^T: rows = fan-in, columns = filters
        for _ in range(self.num_passes):
            matrix = (1.0 + self.beta) * matrix - self.beta * ops.matmul(
                matrix, ops.matmul(ops.transpose(matrix), matrix))
        return ops.reshape(matrix, shape)

    def get_config(self):
        return {"beta": self.beta, "num_passes": self.num_passes}


def apply_parseval(classifier, *, beta=0.0003, num_passes=1):
    """Puts a `ParsevalConstraint` on the kernel of every Dense and Conv2D layer of `classifier`.

    Nested models and layers are included. The kernels are not projected
    now: the constraint acts after each optimizer step, so train (or
    fine-tune) the classifier afterwards, e.g. with `train_classifier`. The
    constraint is set on the kernel variables and as the layers'
    `kernel_constraint`; a model class whose `get_config` lists only its
    constructor arguments (like the zoo's classifiers) does not save it, so
    a reloaded model trains without it. Depthwise/separable convolutions are
    left unconstrained.

    Args:
        classifier: A built `keras.Model`.
        beta: Retraction step of `ParsevalConstraint`.
        num_passes: Passes of the retraction per update.

    Returns:
        `classifier`, modified in place.

    Raises:
        TypeError: If `classifier` is not a `keras.Model`.
        ValueError: If it has no Dense or Conv2D kernel (or bad `beta`/`num_passes`).
    """
    if not isinstance(classifier, keras.Model):
        raise TypeError(f"`classifier` must be a keras.Model, got {type(classifier).__name__}.")
    constraint = ParsevalConstraint(beta=beta, num_passes=num_passes)
    count = 0
    for layer in classifier._flatten_layers(include_self=False, recursive=True):
        kernel = getattr(layer, "kernel", None)
        if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)) and kernel is not None:
            layer.kernel_constraint = constraint
            kernel.constraint = constraint
            count += 1
    if not count:
        raise ValueError("`classifier` has no built Dense or Conv2D kernel to constrain.")
    return classifier
