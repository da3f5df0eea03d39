"""The shared entry point of the attacks: validate -> prepare -> run -> finish.

`run_attack` prepares the inputs (image and label checks, default labels,
output type), runs an attack's kernel on the validated tensors and returns
the result as the input's type. `gradient_attack` adds the budget checks
shared by FGSM, BIM, MI-FGSM and PGD and runs the cached iterative kernel
(or an attack's own runner, e.g. BIM's margin loss). `attack_doc` writes
the docstring lines the attacks share (model, x, y, Returns, Raises) once.
"""

import re

from tfdefend.attacks import _core
from tfdefend.utils import validation as V


def run_attack(model, x, y, clip, targeted, run):
    """Prepares `(model, x, y, clip)`, calls `run(x_t, y_t, (lo, hi))` and returns its result as `x`'s type.

    Args:
        model: The attacked model (must be callable).
        x: Image batch (array-like or tensor) inside `clip`.
        y: Labels, or None for the model's own predictions.
        clip: `(min, max)` or None.
        targeted: Whether `y` holds target classes (then required).
        run: `run(x_t, y_t, bounds) -> x_adv` on the validated float32
            images, int32 labels and `(lo, hi)` Python floats.

    Returns:
        `x_adv` as float32: NumPy if `x` was not a tensor, else a tensor.
    """
    x_t, y_t, bounds, as_numpy = _core.prepare(model, x, y, clip, targeted=targeted)
    return _core.finish(run(x_t, y_t, bounds), as_numpy)


def check_budget(eps, steps, step_size, norm, clip, *, default_step_size=True):
    """Validates the budget of an iterative attack, in the order norm, eps, steps, step_size.

    Args:
        eps: The budget in `norm`.
        steps: Number of iterations (>= 1).
        step_size: Per-step size; None gives `eps / steps` when `default_step_size`.
        norm: Norm name (see `tfdefend.utils.validation.check_norm`).
        clip: `(min, max)` or None.
        default_step_size: Whether `step_size=None` means `eps / steps` (else it is an error).

    Returns:
        `(norm, eps, steps, step_size)`: canonical norm, floats and int.
    """
    norm = V.check_norm(norm)
    eps = V.check_eps(eps, norm=norm, clip=clip)
    steps = V.check_positive_int(steps, "steps")
    if default_step_size:
        step_size = _core.check_step_size(step_size, eps, steps, norm, clip)
    else:
        step_size = V.check_eps(step_size, name="step_size", norm=norm, clip=clip)
    return norm, eps, steps, step_size


def gradient_attack(model, x, y, *, eps, step_size, steps, norm, targeted, clip, default_step_size=True,
                    checks=None, run=None, **options):
    """Validate -> prepare -> run -> finish of the iterative gradient attacks (FGSM, BIM, MI-FGSM, PGD).

    Args:
        model, x, y, clip, targeted: As the attacks take them.
        eps, step_size, steps, norm: The budget, checked by `check_budget`.
        default_step_size: Whether `step_size=None` means `eps / steps`.
        checks: Optional `{option: check}`: after the budget, `options[option] = check(options[option])`.
        run: `run(model, x_t, y_t, bounds, *, eps, step_size, steps, norm, targeted, **options)`;
            default `_core.iterative_attack` (the cached compiled kernel).
        **options: Further keyword arguments of `run` (e.g. `momentum`, `decay`, `seed`).

    Returns:
        The adversarial batch, float32, as `x`'s type.
    """
    norm, eps, steps, step_size = check_budget(eps, steps, step_size, norm, clip,
                                               default_step_size=default_step_size)
    for name, check in (checks or {}).items():
        options[name] = check(options[name])
    run = _core.iterative_attack if run is None else run
    return run_attack(model, x, y, clip, targeted,
                      lambda x_t, y_t, bounds: run(model, x_t, y_t, bounds, eps=eps, step_size=step_size,
                                                   steps=steps, norm=norm, targeted=targeted, **options))


# The docstring lines every attack shares, written once: `attack_doc` puts them in place of their
# `{name}` markers (plain replacement, so other braces in a docstring stay as they are), and
# `{raises: `option`}` in place of the budget attacks' Raises section naming their own `option`.
_DOC_PARTS = {
    "{model_x_y}": "model: A `keras.Model` or any callable mapping a float32 NHWC batch to\n"
                   "            logits.\n"
                   "        x: Image batch [N, H, W, C] inside `clip`.\n"
                   "        y: Int labels [N]; defaults to the model's own predictions. Target\n"
                   "            classes when `targeted=True` (then required).",
    "{targeted_clip}": "targeted: Whether `y` holds target classes.\n"
                       "        clip: `(min, max)` valid image range, or None for unbounded.",
    "{returns}": "The adversarial batch, float32, same shape as `x` (NumPy in -> NumPy\n"
                 "        out, tensor in -> tensor out).",
}
_RAISES = re.compile(r"\{raises: (`\w+`)\}")
_RAISES_TEXT = ("ValueError: Bad `x`, `y`, `eps`, `step_size`, `steps`, \\1 or\n"
                "            `clip`, or `targeted` without `y`.\n"
                "        TypeError: Non-numeric arguments.")


def attack_doc(function):
    """Decorator: fills the shared lines (`{model_x_y}`, `{returns}`, ...) of `function`'s docstring.

    Args:
        function: An attack whose docstring holds some of the markers.

    Returns:
        `function`, its `__doc__` completed.
    """
    doc = function.__doc__
    if doc:  # None under `python -OO`
        for marker, text in _DOC_PARTS.items():
            doc = doc.replace(marker, text)
        function.__doc__ = _RAISES.sub(_RAISES_TEXT, doc)
    return function
