"""Shared private machinery of the attacks.

* Input preparation (validation through `tfdefend.utils.validation`, default
  labels from the model's own predictions, output type matching the input).
* A small LRU cache of compiled kernels keyed by (model, attack kind,
  static options). Budgets, step sizes, labels and clip bounds are passed as
  tensors and the steps run as unrolled compiled chunks of 8, 4, 2 and 1
  steps (`_loop.UnrolledLoop`, no `tf.while_loop`), so an attack is traced
  at most once per chunk size and input shape and not again when only those
  values change. `tracing_counts()` exposes the tracing counters for tests.
* The generic batched iterative gradient kernel behind FGSM, BIM, PGD and
  MI-FGSM (its building blocks are the public `tfdefend.attacks.kernels`).
"""

import collections
import logging
import math
import numbers

import numpy as np
import tensorflow as tf

from tfdefend.attacks import kernels
from tfdefend.attacks._loop import UnrolledLoop, as_kernel
from tfdefend.utils import validation as V
from tfdefend.utils.calling import call_model, check_model_input
from tfdefend.utils.seeding import draw_seed

# The kernels' building blocks, under the names the attack modules use (`_core.project`, ...).
_TINY = kernels._TINY
L2_SAFETY = kernels.L2_SAFETY
ZERO = kernels.ZERO
ascent_direction = kernels.ascent_direction
l1_norm = kernels.l1_norm
l2_norm = kernels.l2_norm
loss_gradient = kernels.loss_gradient
project = kernels.project
random_start = kernels.random_start

_CACHE_SIZE = 32
_CACHE = collections.OrderedDict()  # (id(model), kind, static) -> (model, tf.function)
_NUM_CLASSES = {}  # (id(model), image shape) -> (model, classes) of models without a static output shape


# --------------------------------------------------------------------------- cache


class _OwnRetracingFilter(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning about this package's compiled kernels.

    TF counts traces per Python code object, so the kernels compiled for several models or option sets
    (each a separate `tf.function`, traced at most twice: one static batch size, then an unknown one)
    add up to its threshold although none of them retraces needlessly.
    """

    def filter(self, record):
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and "_build_" in message)


logging.getLogger("tensorflow").addFilter(_OwnRetracingFilter())


def compiled(model, kind, static, builder):
    """Returns the cached compiled function for `(model, kind, static)`.

    Args:
        model: The attacked model (a strong reference is kept with the entry,
            so `id(model)` cannot be reused while the entry lives).
        kind: Attack name, e.g. "iterative".
        static: Hashable tuple of options that change the graph structure.
        builder: `builder(model, *static) -> tf.function`, called on a miss.
    """
    key = (id(model), kind, static)
    entry = _CACHE.get(key)
    if entry is not None and entry[0] is model:
        _CACHE.move_to_end(key)
        return entry[1]
    fn = builder(model, *static)
    _CACHE[key] = (model, fn)
    _CACHE.move_to_end(key)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return fn


def tracing_counts(model=None):
    """Returns `{(kind, static): tracing_count}` of the cached functions.

    Args:
        model: If given, only the entries of this model.
    """
    return {
        (kind, static): _tracing_count(fn)
        for (_, kind, static), (m, fn) in _CACHE.items()
        if model is None or m is model
    }


def _tracing_count(fn):
    """A cached entry's tracing count: a `tf.function`'s, or the largest of a kernel's compiled parts."""
    count = getattr(fn, "tracing_count", None)
    return count() if count is not None else fn.experimental_get_tracing_count()


def clear_cache():
    """Drops every cached compiled function (and the cached class counts)."""
    _CACHE.clear()
    _NUM_CLASSES.clear()


# --------------------------------------------------------------------------- model helpers


def logits_of(model, x):
    """Calls `model` on `x` in inference mode and returns float32 logits."""
    return tf.cast(call_model(model, x), tf.float32)


def num_classes_of(model, x=None):
    """Number of logits: the model's static one, else (given a batch `x`) that of `model(x[:1])`, else None.

    Raises:
        ValueError: If the model's output on `x` is not logits of shape [batch, classes].
    """
    try:
        n = model.output_shape[-1]
    except Exception:  # noqa: BLE001 - any model without a static output shape
        n = None
    if isinstance(n, (int, np.integer)):
        return int(n)
    if x is None:
        return None
    key = (id(model), tuple(x.shape[1:]))
    entry = _NUM_CLASSES.get(key)
    if entry is not None and entry[0] is model:  # a callable's classes, found once per image shape
        return entry[1]
    shape = tuple(logits_of(model, x[:1]).shape)
    if len(shape) != 2:
        raise ValueError(f"`model` must return logits of shape [batch, classes], got shape {shape}.")
    _NUM_CLASSES[key] = (model, int(shape[-1]))
    while len(_NUM_CLASSES) > _CACHE_SIZE:
        _NUM_CLASSES.pop(next(iter(_NUM_CLASSES)))
    return int(shape[-1])


def _build_predict(model):
    @tf.function(reduce_retracing=True)
    def predict(x):
        return tf.argmax(logits_of(model, x), axis=-1, output_type=tf.int32)

    return predict


def build_logits_function(model):
    """A compiled `x -> float32 logits` of `model` (for score-based attacks; cache it with `compiled`)."""

    @tf.function(reduce_retracing=True)
    def logits(x):
        return logits_of(model, x)

    return logits


def predict_labels(model, x):
    """Argmax predictions of `model` on the float32 tensor `x` (int32 [N])."""
    return compiled(model, "predict", (), _build_predict)(x)


def check_model(model):
    """Raises TypeError unless `model` is callable."""
    if not callable(model):
        raise TypeError("`model` must be a keras.Model or a callable returning logits, "
                        f"got {type(model).__name__}.")


def check_images(model, x, clip):
    """Validates the image batch of an attack against `clip` and the model's input shape.

    Returns:
        `(x, as_numpy)`: a float32 tensor, and whether the result should be
        returned as a NumPy array.
    """
    check_model(model)
    as_numpy = not isinstance(x, (tf.Tensor, tf.Variable))
    x_t = V.check_batch_images(x, clip=clip)
    check_model_input(model, x_t)
    return x_t, as_numpy


def prepare(model, x, y, clip, *, targeted=False, y_required_msg=None):
    """Validates the common arguments.

    Args:
        model: The model (must be callable).
        x: Image batch (array-like or tensor).
        y: Labels, or None for the model's own predictions.
        clip: `(min, max)` or None.
        targeted: Whether `y` holds target classes (then it is required).
        y_required_msg: Overrides the error message for a missing `y`.

    Returns:
        `(x, y, (lo, hi), as_numpy)`: float32 tensor, int32 tensor, clip
        bounds as Python floats (+-inf when unbounded), and whether the
        result should be returned as a NumPy array.
    """
    lo, hi = V.check_clip(clip)
    x_t, as_numpy = check_images(model, x, clip)
    n = int(x_t.shape[0])
    if y is None:
        if targeted:
            raise ValueError(y_required_msg or "`y` (the target classes) is required when `targeted=True`.")
        y_t = predict_labels(model, x_t)
        if y_t.shape.rank != 1:
            raise ValueError(f"`model` must return logits of shape [batch, classes], got predictions of "
                             f"shape {tuple(y_t.shape)} (argmax over the last axis).")
    else:
        y_t = V.check_labels(y, n, num_classes=num_classes_of(model, x_t))
    return x_t, y_t, (lo, hi), as_numpy


def finish(x_adv, as_numpy):
    """Returns `x_adv` as NumPy float32 if `as_numpy`, else as a float32 tensor."""
    x_adv = tf.cast(x_adv, tf.float32)
    return x_adv.numpy() if as_numpy else x_adv


def f32(value):
    """A float32 scalar tensor."""
    return tf.constant(value, dtype=tf.float32)


def check_seed(seed):
    """Returns `seed` if it is None or an int of any size or sign (it wraps into a `[2]` int32 seed).

    Raises:
        TypeError: Any other type (a bool too).
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"`seed` must be an int or None, got {type(seed).__name__}.")
    return seed


def seed_tensor(seed):
    """A `[2]` int32 seed for stateless random ops; drawn from NumPy's global RNG when `seed` is None.

    (So `tfdefend.utils.set_seed` makes unseeded attacks repeatable.)
    """
    seed = draw_seed() if check_seed(seed) is None else seed
    seed = int(seed)
    return tf.constant([seed & 0x7FFFFFFF, (seed >> 31) & 0x7FFFFFFF], dtype=tf.int32)


def check_step_size(step_size, eps, steps, norm, clip, name="step_size"):
    """Validates `step_size`; `None` becomes `eps / steps`."""
    if step_size is None:
        return eps / steps
    return V.check_eps(step_size, name=name, norm=norm, clip=clip)


# --------------------------------------------------------------------------- iterative kernel


def _build_iterative(model, norm, targeted, use_random_start, momentum):
    """Compiles the iterative kernel for one model and one set of static options.

    Returns `run(x, y, eps, step_size, steps, decay, lo, hi, seed)` (tensors, `steps` a Python int):
    an optional compiled random start, then the steps as unrolled compiled chunks (`_loop`).
    """

    def bounds(constants):  # L-inf: `lo`, `hi` become the ball-and-clip box, computed once a chunk
        x, y, eps, step_size, decay, lo, hi = constants
        return (x, y, eps, step_size, decay, *kernels.linf_box(x, eps, lo, hi))

    def step(i, state, constants):
        x_adv, g = state if momentum else (state, None)
        x, y, eps, step_size, decay, lo, hi = constants
        grad = loss_gradient(model, x_adv, y)
        if targeted:
            grad = -grad
        if momentum:
            g = decay * g + grad / tf.maximum(l1_norm(grad), _TINY)
            grad = g
        if norm == "inf":
            x_adv = tf.clip_by_value(x_adv + step_size * tf.sign(grad), lo, hi)  # lo, hi: the box of `bounds`
        else:
            x_adv = project(x_adv + step_size * ascent_direction(grad, norm), x, eps, norm, lo, hi)
        return (x_adv, g) if momentum else x_adv

    loop = UnrolledLoop(step, prologue=bounds if norm == "inf" else None)

    @tf.function(reduce_retracing=True)
    def start(x, eps, lo, hi, seed):
        return project(x + random_start(x, eps, norm, seed), x, eps, norm, lo, hi)

    def run(x, y, eps, step_size, steps, decay, lo, hi, seed):
        x_adv = start(x, eps, lo, hi, seed) if use_random_start else x
        state = (x_adv, tf.zeros_like(x)) if momentum else x_adv
        state = loop(state, (x, y, eps, step_size, decay, lo, hi), steps)
        return state[0] if momentum else state

    return as_kernel(run, loop, start)


def iterative_attack(model, x, y, clip, *, eps, step_size, steps, norm, targeted,
                     use_random_start=False, seed=None, momentum=False, decay=0.0):
    """Runs the cached compiled iterative kernel on validated inputs.

    Args:
        model: The model.
        x: float32 tensor (validated).
        y: int32 labels (true labels, or targets if `targeted`).
        clip: `(lo, hi)` Python floats.
        eps, step_size, decay: Python floats (validated).
        steps: Python int (validated).
        norm: "inf" or "l2".
        targeted: Descend the loss of `y` instead of ascending it.
        use_random_start: Start from a uniform point of the ball.
        seed: Seed of the random start.
        momentum: MI-FGSM momentum accumulation with factor `decay`.

    Returns:
        The adversarial float32 tensor.
    """
    if eps == 0.0:
        return tf.identity(x)
    fn = compiled(model, "iterative", (norm, bool(targeted), bool(use_random_start), bool(momentum)),
                  _build_iterative)
    lo, hi = clip
    return fn(x, y, f32(eps), f32(step_size), int(steps), f32(decay),
              f32(lo), f32(hi), seed_tensor(seed) if use_random_start else None)


def is_finite_clip(clip):
    """True if both clip bounds are finite."""
    return math.isfinite(clip[0]) and math.isfinite(clip[1])
