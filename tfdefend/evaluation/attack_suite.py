"""`attack_suite`: the standard FGSM/PGD grid as named attack callables."""

import functools


def attack_suite(eps_values, *, pgd_steps=10, step_ratio=2.5, include=("fgsm", "pgd")):
    """Builds named L-inf attacks for `robustness_table`.

    Args:
        eps_values: Iterable of L-inf budgets (image units, e.g. 0.1).
        pgd_steps: PGD iterations.
        step_ratio: Step size of the iterative attacks = step_ratio * eps /
            pgd_steps (Madry et al.). PGD starts from a uniform random point
            of the ball (seed 0); BIM and MI-FGSM start at `x`.
        include: Which attacks, among "fgsm", "bim", "pgd", "mifgsm".

    Returns:
        A dict name -> callable(model, x, y) -> x_adv, e.g. "PGD-10 eps=0.1".
        Each callable carries `family` ("fgsm", "pgd", ...) and `eps`
        attributes, which tables and plots use.
    """
    from tfdefend import attacks

    known = {"fgsm", "bim", "pgd", "mifgsm"}
    unknown = set(include) - known
    if unknown:
        raise ValueError(f"`include` has unknown attacks {sorted(unknown)}; known: {sorted(known)}.")
    suite = {}
    for name in include:
        for eps in eps_values:
            label = f"{eps:.3g}"
            if name == "fgsm":
                key, fn = f"FGSM eps={label}", functools.partial(_call, attacks.fgsm, eps=eps)
            else:
                key = f"{name.upper()}-{pgd_steps} eps={label}"
                extra = {"random_start": True, "seed": 0} if name == "pgd" else {}
                fn = functools.partial(_call, getattr(attacks, name), eps=eps,
                                       step_size=step_ratio * eps / pgd_steps, steps=pgd_steps, **extra)
            fn.family, fn.eps = name, float(eps)
            suite[key] = fn
    return suite


def _call(attack, model, x, y, **kwargs):
    return attack(model, x, y, **kwargs)
