"""`attack_suite`: the standard FGSM/PGD grid as named attack callables."""

import functools
import numbers

from tfdefend.attacks import resolve
from tfdefend.utils.validation import check_eps, check_float, check_positive_int

# The registry's L-inf attacks the suite builds: one step (FGSM), or `pgd_steps` steps of
# `step_ratio * eps / pgd_steps`.
SUITE_ATTACKS = ("fgsm", "bim", "pgd", "mifgsm")


def attack_suite(eps_values, *, pgd_steps=10, step_ratio=2.5, include=("fgsm", "pgd")):
    """Builds named L-inf attacks for `robustness_table`.

    Args:
        eps_values: Iterable of L-inf budgets (image units, e.g. 0.1).
        pgd_steps: PGD iterations.
        step_ratio: Step size of the iterative attacks = step_ratio * eps /
            pgd_steps (Madry et al.). PGD starts from a uniform random point
            of the ball (seed 0); BIM and MI-FGSM start at `x`.
        include: Which attacks, among the registry's "fgsm", "bim", "pgd",
            "mifgsm" (`tfdefend.attacks.get`; the deprecated alias "ifgsm"
            still means "bim" for one release).

    Returns:
        A dict name -> callable(model, x, y) -> x_adv, e.g. "PGD-10 eps=0.1".
        Each callable carries `family` ("fgsm", "pgd", ...) and `eps`
        attributes, which tables and plots use.

    Raises:
        ValueError: A budget outside [0, 1], `pgd_steps` < 1, a `step_ratio`
            that is not finite or not > 0, or an unknown attack name.
        TypeError: `eps_values` or `include` that are not lists, or
            non-numeric budgets or `step_ratio`.
    """
    if isinstance(eps_values, (str, bytes)) or not hasattr(eps_values, "__iter__"):
        raise TypeError(f"`eps_values` must be a list of L-inf budgets, got {type(eps_values).__name__}.")
    eps_values = [check_eps(eps, name="eps_values[]") for eps in eps_values]
    pgd_steps = check_positive_int(pgd_steps, "pgd_steps")
    if isinstance(step_ratio, bool) or not isinstance(step_ratio, numbers.Real):
        raise TypeError(f"`step_ratio` must be a finite number > 0, got {type(step_ratio).__name__}.")
    check_float(step_ratio, "step_ratio", lo=0.0, lo_open=True)
    if (isinstance(include, (str, bytes)) or not hasattr(include, "__iter__")
            or not all(isinstance(name, str) for name in include)):
        raise TypeError(f"`include` must be a list of attack names, got {include!r}.")
    include = list(include)
    resolved, unknown = {}, set()
    for name in include:
        try:
            resolved[name] = resolve(name, argument="include", choices=SUITE_ATTACKS)[:2]
        except ValueError:
            unknown.add(name)
    if unknown:
        raise ValueError(f"`include` has unknown attacks {sorted(unknown)}; known: {sorted(SUITE_ATTACKS)}.")
    suite = {}
    for spec in include:
        name, attack = resolved[spec]
        for eps in eps_values:
            label = f"{eps:.3g}"
            if name == "fgsm":
                key, fn = f"FGSM eps={label}", functools.partial(_call, attack, eps=eps)
            else:
                key = f"{name.upper()}-{pgd_steps} eps={label}"
                extra = {"random_start": True, "seed": 0} if name == "pgd" else {}
                fn = functools.partial(_call, attack, eps=eps, step_size=step_ratio * eps / pgd_steps,
                                       steps=pgd_steps, **extra)
            fn.family, fn.eps = name, float(eps)
            suite[key] = fn
    return suite


def _call(attack, model, x, y, **kwargs):
    return attack(model, x, y, **kwargs)
