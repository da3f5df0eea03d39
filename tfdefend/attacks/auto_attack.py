"""AutoAttack (Croce & Hein, ICML 2020): a parameter-free ensemble, each attack run on the points still robust."""

import time

import numpy as np
import tensorflow as tf

from tfdefend.attacks import _core
from tfdefend.attacks.apgd import apgd
from tfdefend.attacks.eot import eot
from tfdefend.attacks.fab import fab
from tfdefend.attacks.square import square
from tfdefend.utils import validation as V

VERSIONS = ("standard", "rand", "fast")


def _plan(version, norm, num_classes, steps, queries, eot_samples):
    """[(name, runner(model, x, y, eps, seed) -> x_adv, gradient passes or queries per image)]."""
    targets = min(9, num_classes - 1)
    ce = ("apgd-ce", lambda m, x, y, eps, seed: apgd(m, x, y, eps=eps, norm=norm, loss="ce", steps=steps,
                                                      seed=seed), steps)
    if version == "fast":
        return [ce, ("apgd-dlr", lambda m, x, y, eps, seed: apgd(m, x, y, eps=eps, norm=norm, loss="dlr",
                                                                  steps=steps, seed=seed), steps)]
    if version == "rand":
        def with_eot(loss):
            return lambda m, x, y, eps, seed: apgd(eot(m, samples=eot_samples), x, y, eps=eps, norm=norm,
                                                   loss=loss, steps=steps, seed=seed)
        return [("apgd-ce-eot", with_eot("ce"), steps * eot_samples),
                ("apgd-dlr-eot", with_eot("dlr"), steps * eot_samples)]
    plan = [ce, ("apgd-t", lambda m, x, y, eps, seed: apgd(m, x, y, eps=eps, norm=norm, loss="dlr", targeted=True,
                                                           target_classes=targets, steps=steps, seed=seed),
                 steps * targets),
            ("fab-t", lambda m, x, y, eps, seed: fab(m, x, y, eps=eps, norm=norm, steps=steps,
                                                     target_classes=targets), 2 * steps * targets)]
    plan.append(("square", lambda m, x, y, eps, seed: square(m, x, y, eps=eps, norm=norm, queries=queries,
                                                             p_init=0.8, seed=seed), queries))
    return plan


def auto_attack(model, x, y=None, *, eps, norm="inf", version="standard", steps=100, queries=5000,
                eot_samples=20, seed=0, clip=(0.0, 1.0), batch_size=1000):
    """Runs the AutoAttack ensemble and reports the robust accuracy after each attack.

    Versions:
      * "standard": APGD-CE (no restarts), APGD-T (targeted DLR over the
        top-9 other classes), FAB-T (the same 9 targets), Square (`queries`
        queries; L-inf or L2 as `norm`, `p_init=0.8` for both norms as the
        reference AutoAttack runs it).
      * "rand": APGD-CE and APGD-DLR through EOT over `eot_samples` draws, for
        randomized defenses.
      * "fast": APGD-CE and untargeted APGD-DLR.

    Each attack runs only on the images still classified correctly, and a
    point counts as broken only if the model misclassifies it when checked
    again, so the robust accuracy can only fall from one attack to the next.

    Args:
        model: A `keras.Model` or callable returning logits (a defended
            classifier, a `bpda(...)` / `eot(...)` wrapper, ...).
        x: Image batch [N, H, W, C] inside `clip`.
        y: True int labels [N]; defaults to the model's own predictions.
        eps: Budget (>= 0) in the chosen norm.
        norm: "inf" or "l2".
        version: "standard", "rand" or "fast".
        steps: APGD iterations (100 in the paper).
        queries: Square Attack queries per image (5,000 in the paper).
        eot_samples: EOT draws per gradient for version="rand".
        seed: Int seed of every random start and search.
        clip: `(min, max)` valid image range.
        batch_size: Images per attack call (memory bound).

    Returns:
        `(x_adv, report)`: the adversarial batch (float32 NumPy; the clean
        image where no attack succeeded) and a dict with `clean_accuracy`,
        `robust_accuracy`, `n`, `eps`, `norm`, `version`, `seconds` and
        `attacks`: per attack, in order, `name`, `robust_accuracy` after it,
        `broken` (images it broke), `ran_on` (images it was run on),
        `seconds` and `cost_per_image` (gradient passes or queries).

    Raises:
        ValueError: Bad `x`, `y`, `eps`, `norm`, `version` or counts.
        TypeError: Non-numeric arguments or a non-callable model.
    """
    norm = V.check_norm(norm)
    if not isinstance(version, str) or version not in VERSIONS:
        raise ValueError(f"`version` must be one of {VERSIONS}, got {version!r}.")
    eps = V.check_eps(eps, norm=norm, clip=clip)
    if version == "standard" and clip is None:
        raise ValueError("`clip` must be a (min, max) range for the standard version (FAB and Square keep "
                         "to the box).")
    steps = V.check_positive_int(steps, "steps")
    queries = V.check_positive_int(queries, "queries")
    eot_samples = V.check_positive_int(eot_samples, "eot_samples")
    batch_size = V.check_positive_int(batch_size, "batch_size")
    seed = V.check_seed(seed)
    x_t, y_t, _, _ = _core.prepare(model, x, y, clip)
    num_classes = _core.num_classes_of(model, x_t)
    x_np, y_np = x_t.numpy(), y_t.numpy()
    n = len(y_np)
    start = time.perf_counter()
    forward = getattr(model, "forward_model", model)  # a BPDA wrapper's forward pass without its approximation
    robust = _predict(forward, x_np, batch_size) == y_np
    report = {"n": n, "eps": eps, "norm": norm, "version": version, "clean_accuracy": float(robust.mean()),
              "attacks": []}
    x_adv = x_np.copy()
    for name, run, cost in _plan(version, norm, num_classes, steps, queries, eot_samples):
        began, todo = time.perf_counter(), np.flatnonzero(robust)
        broken = 0
        for chunk in np.array_split(todo, max(1, int(np.ceil(todo.size / batch_size)))):
            if chunk.size == 0:  # never run a model on an empty batch
                continue
            attacked = forward if name == "square" else model  # Square needs scores only
            candidate = np.asarray(run(attacked, x_np[chunk], y_np[chunk], eps, seed), np.float32)
            fooled = _predict(forward, candidate, batch_size) != y_np[chunk]
            x_adv[chunk[fooled]] = candidate[fooled]
            robust[chunk[fooled]] = False
            broken += int(fooled.sum())
        report["attacks"].append({"name": name, "robust_accuracy": float(robust.mean()), "broken": broken,
                                  "ran_on": int(todo.size), "seconds": time.perf_counter() - began,
                                  "cost_per_image": cost})
    report["robust_accuracy"] = float(robust.mean())
    report["seconds"] = time.perf_counter() - start
    return x_adv, report


def _predict(model, images, batch_size):
    out = [_core.predict_labels(model, tf.constant(images[i:i + batch_size])).numpy()
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out)
