"""Square Attack (Andriushchenko et al., ECCV 2020), L-inf and L2: score-based, gradient-free search."""

import math
import numbers

import numpy as np

from tfdefend.attacks import _core, _square_l2
from tfdefend.utils import validation as V
from tfdefend.utils.calling import check_model_input

# The initial square's area fraction when `p_init` is None, per norm (the paper's defaults).
P_INIT = {"inf": 0.8, "l2": 0.1}

# Iterations (of 10,000) after which the square's area fraction p is halved again.
_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)


def square_fraction(p_init, iteration, queries):
    """The fraction of the image a square covers at `iteration` of a `queries`-query run."""
    scaled = int(iteration / queries * 10000)
    return p_init / 2 ** sum(scaled > h for h in _HALVINGS)


def _margin(scores, y, targeted):
    """`z_y - max_{j != y} z_j` (untargeted) or `max_{j != t} z_j - z_t` (targeted): < 0 means success."""
    scores = np.asarray(scores, np.float64)
    picked = np.take_along_axis(scores, y[:, None], axis=1)[:, 0]
    others = scores.copy()
    np.put_along_axis(others, y[:, None], -np.inf, axis=1)
    best_other = others.max(axis=1)
    return best_other - picked if targeted else picked - best_other


def _scores_of(model):
    """A function NumPy images -> NumPy scores, compiled with `tf.function` when the model can be traced.

    Keras models and TensorFlow callables (a `bpda(...)` wrapper, a defended
    classifier) run as one compiled graph per query batch; a scores function
    that cannot be traced (NumPy or LiteRT inside, e.g. `TFLiteScores`) is
    called as it is.
    """
    import keras  # noqa: PLC0415 - only here: a LiteRT scores function needs no Keras

    layer = isinstance(model, keras.layers.Layer)
    if not (layer or getattr(model, "traceable", True)):
        return lambda images: np.asarray(model(images))
    fn = _core.compiled(model, "scores", (), _core.build_logits_function)
    state = {"compiled": True}

    def run(images):
        if state["compiled"]:
            try:
                return fn(images).numpy()
            except (TypeError, NotImplementedError, AttributeError):
                if layer:
                    raise
                state["compiled"] = False  # not traceable: NumPy / LiteRT inside
        return np.asarray(model(images))

    return run


def square(model, x, y=None, *, eps, norm="inf", queries=5000, p_init=None, seed=None, targeted=False,
           clip=(0.0, 1.0), return_info=False):
    """Square Attack: random search over squares, needing only the model's scores.

    L-inf: starts from vertical stripes of +-eps (a random sign per column
    and channel); each iteration proposes, for every image not fooled yet,
    one random square of side `round(sqrt(p * height * width))` whose pixels
    are set to `x +- eps` (a random sign per channel).

    L2: starts from a grid of "meta pseudo-gaussian" squares (a bump on one
    half, a negated bump on the other) with random signs, scaled to L2 norm
    `eps`; each iteration draws two windows of side
    `round(sqrt(p * height * width))` (at least 3, odd) per image and moves
    the perturbation mass of both, plus the budget left unused, into a new
    pseudo-gaussian square of random sign on the first, then rescales the
    whole perturbation to L2 norm `eps` (see `_square_l2.propose`).

    Either way the point is clipped into `clip` and the proposal is kept if
    the margin `z_y - max_{j != y} z_j` falls (targeted:
    `max_{j != t} z_j - z_t`). The area fraction `p` starts at `p_init`
    and is halved after 10, 50, 200, 500, 1k, 2k, 4k, 6k and 8k of every
    10k iterations. An image stops costing queries once it is fooled.

    `model` may be a `keras.Model`, any callable returning logits, or any
    scores function taking a float32 NumPy batch (e.g. a LiteRT interpreter
    wrapped by `tfdefend.export.TFLiteScores`): no gradient is used.

    Args:
        model: The model or scores function.
        x: Image batch [N, H, W, C] inside `clip`.
        y: Int labels [N]; defaults to the model's own predictions. Target
            classes when `targeted=True` (then required).
        eps: Budget (>= 0) in the chosen norm.
        norm: "inf" (or `np.inf`) or "l2" (or `2`).
        queries: Most queries per image (>= 1), the clean one and the
            initialization included.
        p_init: Initial area fraction of the square, in (0, 1]; None for
            the paper's default of the norm: 0.8 for L-inf, 0.1 for L2.
        seed: Int seed (deterministic when given).
        targeted: Whether `y` holds target classes.
        clip: `(min, max)` valid image range.
        return_info: Also return a dict with per-image `queries` and `success`.

    Returns:
        The adversarial batch, float32 NumPy array of `x`'s shape (the best
        point found per image); with `return_info`, `(x_adv, info)`.

    Raises:
        ValueError: Bad `x`, `y`, `eps`, `norm`, `queries`, `p_init` or `clip`.
        TypeError: Non-numeric arguments or a non-callable model.
    """
    norm = V.check_norm(norm)
    if clip is None:
        raise ValueError("`clip` must be a (min, max) range for square: the search clips to it.")
    eps = V.check_eps(eps, norm=norm, clip=clip)
    queries = V.check_positive_int(queries, "queries")
    p_init = _check_p_init(p_init, norm)
    _core.check_model(model)
    x_t = V.check_batch_images(x, clip=clip)
    _check_input_shape(model, x_t)
    scores_fn = _scores_of(model)
    x_np = x_t.numpy().astype(np.float32)
    n, height, width, channels = x_np.shape
    scores = scores_fn(x_np)
    if scores.ndim != 2 or scores.shape[0] != n:
        raise ValueError(f"`model` must return scores of shape [batch, classes], got shape {scores.shape}.")
    if y is None:
        if targeted:
            raise ValueError("`y` (the target classes) is required when `targeted=True`.")
        y_np = scores.argmax(axis=1).astype(np.int64)
    else:
        y_np = V.check_labels(y, n, num_classes=scores.shape[1]).numpy().astype(np.int64)
    lo, hi = V.check_clip(clip)
    if norm == "l2":  # a larger budget reaches no further than the box's diagonal; rounding stays inside eps
        eps = min(eps, math.sqrt(height * width * channels) * (hi - lo)) * _core.L2_SAFETY
    rng = np.random.default_rng(_core.seed_tensor(seed).numpy().astype(np.uint32))
    used = np.ones(n, np.int64)
    best = x_np.copy()
    margin = _margin(scores, y_np, targeted)
    if eps > 0.0 and queries > 1:
        _search(scores_fn, x_np, y_np, best, margin, used, eps=eps, norm=norm, queries=queries, p_init=p_init,
                bounds=(lo, hi), rng=rng, targeted=targeted)
    out = best.astype(np.float32)
    if return_info:
        return out, {"queries": used, "success": margin < 0}
    return out


def _search(scores_fn, x_np, y_np, best, margin, used, *, eps, norm, queries, p_init, bounds, rng, targeted):
    """The random search from the initial perturbation on; updates `best`, `margin` and `used` in place."""
    lo, hi = bounds
    n, height, width, channels = x_np.shape
    if norm == "inf":
        delta = eps * rng.choice([-1.0, 1.0], size=(n, 1, width, channels))
    else:
        delta = _square_l2.initial_perturbation(x_np.shape, eps, rng)
    start = np.clip(x_np + delta, lo, hi).astype(np.float32)
    active = margin >= 0
    if active.any():
        margin_start = _margin(scores_fn(start[active]), y_np[active], targeted)
        best[active], margin[active] = start[active], margin_start
        used[active] += 1
    for i in range(1, queries - 1):
        todo = np.flatnonzero(margin >= 0)
        if todo.size == 0:  # never query an empty batch
            break
        fraction = square_fraction(p_init, i, queries)
        if norm == "inf":
            side = min(max(int(round(math.sqrt(fraction * height * width))), 1),
                       min(height, width) - 1 if min(height, width) > 1 else 1)
            candidate = _propose(best[todo], x_np[todo], side, eps, lo, hi, rng)
        else:
            side = _square_l2.side_of(fraction, height, width)
            candidate = _square_l2.propose(best[todo], x_np[todo], side, eps, lo, hi, rng)
        new_margin = _margin(scores_fn(candidate), y_np[todo], targeted)
        used[todo] += 1
        better = new_margin < margin[todo]
        best[todo[better]] = candidate[better]
        margin[todo[better]] = new_margin[better]


def _check_p_init(p_init, norm):
    """`p_init` as a float in (0, 1]; None gives the norm's default."""
    if p_init is None:
        return P_INIT[norm]
    scalar = isinstance(p_init, np.ndarray) and p_init.ndim == 0 and p_init.dtype.kind in "iuf"
    if isinstance(p_init, bool) or not (isinstance(p_init, numbers.Real) or scalar):
        raise TypeError(f"`p_init` must be None or a number in (0, 1], got {type(p_init).__name__}.")
    if not 0.0 < float(p_init) <= 1.0:  # NaN fails too
        raise ValueError(f"`p_init` must be a number in (0, 1], got {p_init!r}.")
    return float(p_init)


def _check_input_shape(model, x):
    """Refuses images of a size the model (or a scores function's `input_shape` [H, W, C]) does not take."""
    check_model_input(model, x)
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):  # a plain callable, or a Keras model not built yet
        return
    if isinstance(shape, tuple) and len(shape) == 3 and tuple(x.shape[1:]) != shape:
        raise ValueError(f"`x` holds images of shape {tuple(x.shape[1:])} (height, width, channels), but "
                         f"the scores function takes {shape}.")


def _propose(current, x, side, eps, lo, hi, rng):
    """`current` with one random square per image set to `x +- eps` (random sign per channel)."""
    n, height, width, channels = current.shape
    window = _square_l2.random_windows(n, height, width, side, rng)[2]
    signs = eps * rng.choice([-1.0, 1.0], size=(n, 1, 1, channels))
    candidate = np.where(window, np.clip(x + signs, lo, hi), current)
    for _ in range(10):  # re-draw the signs where the square would not change the image
        unchanged = np.all(np.abs(candidate - current) < 1e-7, axis=(1, 2, 3))
        if not unchanged.any():
            break
        signs = eps * rng.choice([-1.0, 1.0], size=(int(unchanged.sum()), 1, 1, channels))
        candidate[unchanged] = np.where(window[unchanged], np.clip(x[unchanged] + signs, lo, hi),
                                        current[unchanged])
    return candidate.astype(np.float32)
