"""The attack registry: `get(name)` returns an attack function, `list_attacks()` names them all.

Every registered attack has the cleverhans shape `attack(model, x, y=None,
*, ...)` (keyword-only budgets) and validates its own arguments; the
registry only maps names to functions and says what kind of attack each is,
so command-line tools, benchmarks and leaderboards can pick attacks by name.

It is the one name -> attack map of the package: the evaluation suite, the
leaderboard, the trainers (`adversarial_pairs`, `AdversarialTraining`, the
denoiser toolbox), AutoAdversary's dense base attack and AdvMask all look
attacks up here. `resolve` also takes an attack with fixed arguments, as a
`(name, {argument: value})` pair (e.g. `("bim", {"steps": 4})`), and the
deprecated spellings of earlier releases (`"ifgsmK"`, `"ifgsm"`), which
warn with a `DeprecationWarning` and map to the registry name plus
arguments (`"ifgsm4"` -> `("bim", {"steps": 4})`).
"""

import functools
import inspect
import re
import warnings

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


# Deprecated spellings, kept for one release: a regular expression -> (registry name, its arguments).
_ALIASES = (
    (re.compile(r"ifgsm"), lambda match: ("bim", {})),
    (re.compile(r"ifgsm0*([1-9][0-9]*)"), lambda match: ("bim", {"steps": int(match.group(1))})),
)


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

    A deprecated alias (e.g. `"ifgsm4"`) warns and returns the registry's
    function with the alias's arguments bound (`functools.partial(bim, steps=4)`).

    Raises:
        TypeError: `name` is not a str.
        ValueError: An unknown name (the message lists the known ones).
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a str (an attack name), got {type(name).__name__}.")
    if name in _ATTACKS:
        return _ATTACKS[name][0]
    canonical, kwargs = _alias(name, stacklevel=2)
    return functools.partial(_ATTACKS[canonical][0], **kwargs) if kwargs else _ATTACKS[canonical][0]


def attack_info(name):
    """`{"name", "kind", "norms", "description", "function"}` of a registered attack (errors as `get`)."""
    if isinstance(name, str) and name not in _ATTACKS:
        name = _alias(name, stacklevel=2)[0]
    get(name)
    function, kind, norms, description = _ATTACKS[name]
    return {"name": name, "kind": kind, "norms": norms, "description": description,
            "function": function.__name__}


def resolve(spec, *, argument="attack", choices=None):
    """`(name, function, kwargs)` of an attack given by name, by `(name, kwargs)`, or by a deprecated alias.

    Args:
        spec: A registry name (`"pgd"`), a `(name, {argument: value})` pair
            (a two-item list works too, as JSON gives it back), or a
            deprecated alias (`"ifgsm4"`: a `DeprecationWarning`, then
            `("bim", {"steps": 4})`).
        argument: The caller's argument name, for error messages.
        choices: If given, the registry names the caller supports.

    Returns:
        `(name, function, kwargs)`: the registry name, its attack function
        and a new dict of the fixed keyword arguments (call
        `function(model, x, y, **kwargs, ...)`).

    Raises:
        TypeError: `spec` is neither a str nor a `(str, dict)` pair.
        ValueError: An unknown name, one not in `choices`, or a keyword the
            attack does not take.
    """
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str) \
            and isinstance(spec[1], dict):
        name, kwargs = spec[0], dict(spec[1])
    elif isinstance(spec, str):
        name, kwargs = spec, {}
    else:
        raise TypeError(f"`{argument}` must be an attack name (str) or a (name, {{argument: value}}) pair, "
                        f"got {spec!r}.")
    known = ", ".join(sorted(_ATTACKS) if choices is None else choices)
    if name not in _ATTACKS:
        try:
            name, alias_kwargs = _alias(name, stacklevel=2)
        except ValueError:
            raise ValueError(f"Unknown attack {spec!r} in `{argument}`; known attacks: {known}.") from None
        kwargs = {**alias_kwargs, **kwargs}
    if choices is not None and name not in choices:
        raise ValueError(f"Unknown attack {spec!r} in `{argument}`; expected one of: {known}.")
    function = _ATTACKS[name][0]
    parameters = inspect.signature(function).parameters
    unknown = sorted(key for key in kwargs if key not in parameters or key in ("model", "x", "y"))
    if unknown:
        raise ValueError(f"Attack {name!r} in `{argument}` takes no argument(s) {unknown}.")
    return name, function, kwargs


def _alias(name, *, stacklevel):
    """`(registry name, kwargs)` of a deprecated alias, after a DeprecationWarning; ValueError if none."""
    for pattern, target in _ALIASES:
        match = pattern.fullmatch(name)
        if match:
            canonical, kwargs = target(match)
            new = repr(canonical) if not kwargs else repr((canonical, kwargs))
            warnings.warn(f"Attack name {name!r} is deprecated and will be removed in the next release; "
                          f"use {new} (see tfdefend.attacks.list_attacks()).", DeprecationWarning,
                          stacklevel=stacklevel + 1)
            return canonical, kwargs
    raise ValueError(f"Unknown attack {name!r}; known attacks: {', '.join(sorted(_ATTACKS))}.")
