"""The attack registry: `get(name)` returns an attack function, `list_attacks()` names them all.

Every registered attack has the cleverhans shape `attack(model, x, y=None,
*, ...)` (keyword-only budgets) and validates its own arguments; the
registry only maps names to functions and says what kind of attack each is,
so command-line tools, benchmarks and leaderboards can pick attacks by name.
"""

from tfdefend.attacks.apgd import apgd
from tfdefend.attacks.auto_adversary import auto_adversary
from tfdefend.attacks.auto_attack import auto_attack
from tfdefend.attacks.bim import bim
from tfdefend.attacks.carlini_wagner_l2 import carlini_wagner_l2
from tfdefend.attacks.deepfool import deepfool
from tfdefend.attacks.fab import fab
from tfdefend.attacks.fgsm import fgsm
from tfdefend.attacks.jsma import jsma
from tfdefend.attacks.mifgsm import mifgsm
from tfdefend.attacks.pgd import pgd
from tfdefend.attacks.square import square

# name: (function, kind, norms, one-line description)
_ATTACKS = {
    "fgsm": (fgsm, "gradient", ("inf",), "Fast Gradient Sign Method (Goodfellow et al. 2015), one step"),
    "bim": (bim, "gradient", ("inf",), "Basic Iterative Method / I-FGSM (Kurakin et al. 2017)"),
    "mifgsm": (mifgsm, "gradient", ("inf",), "Momentum Iterative FGSM (Dong et al. 2018)"),
    "pgd": (pgd, "gradient", ("inf", "l2"), "Projected Gradient Descent (Madry et al. 2018)"),
    "apgd": (apgd, "gradient", ("inf", "l2"), "Auto-PGD, CE / DLR / targeted DLR (Croce & Hein 2020)"),
    "fab": (fab, "minimal-norm", ("inf", "l2"), "FAB-T, targeted minimal-norm (Croce & Hein 2020)"),
    "square": (square, "score-based", ("inf", "l2"), "Square Attack, gradient-free (Andriushchenko et al. 2020)"),
    "deepfool": (deepfool, "minimal-norm", ("l2",), "DeepFool (Moosavi-Dezfooli et al. 2016)"),
    "carlini_wagner_l2": (carlini_wagner_l2, "minimal-norm", ("l2",), "Carlini & Wagner L2 (2017)"),
    "jsma": (jsma, "sparse", ("l0",), "Jacobian Saliency Map Attack (Papernot et al. 2016), targeted"),
    "auto_adversary": (auto_adversary, "sparse", ("inf",), "AutoAdversary: PGD with a learned pixel mask"),
    "auto_attack": (auto_attack, "ensemble", ("inf", "l2"), "AutoAttack: APGD-CE, APGD-T, FAB-T, Square"),
}


def list_attacks(kind=None):
    """Sorted names of the registered attacks, optionally only those of one `kind`.

    Args:
        kind: None, or one of "gradient", "minimal-norm", "score-based",
            "sparse", "ensemble".

    Raises:
        ValueError: An unknown `kind`.
    """
    kinds = sorted({entry[1] for entry in _ATTACKS.values()})
    if kind is not None and kind not in kinds:
        raise ValueError(f"`kind` must be None or one of {kinds}, got {kind!r}.")
    return sorted(name for name, entry in _ATTACKS.items() if kind is None or entry[1] == kind)


def get(name):
    """The attack function registered as `name` (e.g. `get("pgd")(model, x, eps=0.1, ...)`).

    Raises:
        TypeError: `name` is not a str.
        ValueError: An unknown name (the message lists the known ones).
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a str (an attack name), got {type(name).__name__}.")
    if name not in _ATTACKS:
        raise ValueError(f"Unknown attack {name!r}; known attacks: {', '.join(sorted(_ATTACKS))}.")
    return _ATTACKS[name][0]


def attack_info(name):
    """`{"name", "kind", "norms", "description"}` of a registered attack (errors as `get`)."""
    get(name)
    function, kind, norms, description = _ATTACKS[name]
    return {"name": name, "kind": kind, "norms": norms, "description": description,
            "function": function.__name__}
