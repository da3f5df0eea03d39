"""`adversarial_pairs`: (clean, adversarial) training pairs for denoisers and for GNR."""

import numpy as np

from tfdefend.attacks import resolve
from tfdefend.utils.validation import check_batch_images, check_eps, check_positive_int

# The seed's mix (Li & Wang 2018, sec. 5.1): FGSM and I-FGSM (BIM) with 2, 4 and 8 steps.
DEFAULT_ATTACKS = ("fgsm", ("bim", {"steps": 2}), ("bim", {"steps": 4}), ("bim", {"steps": 8}))
# The registry's attacks that need nothing but a budget (and optional fixed arguments).
CHOICES = ("fgsm", "bim")


def _attack_fn(spec, argument="attacks"):
    """`fn(model, x, y, eps)` of an attack spec of the registry (see `tfdefend.attacks.resolve`)."""
    _, attack, kwargs = resolve(spec, argument=argument, choices=CHOICES)
    return lambda model, x, y, eps: attack(model, x, y, eps=eps, **kwargs)


def adversarial_pairs(classifier, x, y=None, *, eps_max, eps_min_fraction=0.1, attacks=DEFAULT_ATTACKS,
                      chunk_size=64, seed=0):
    """Attacks `x` with a random attack and budget per chunk, returning the adversarial images.

    The images are split into chunks of `chunk_size`; each chunk gets one
    attack drawn uniformly from `attacks` and one L-inf budget drawn
    uniformly from `[eps_min_fraction * eps_max, eps_max]` (the seed draws
    the perturbation level uniformly too). `adv - x` is the "real noise"
    that GNR learns to reproduce.

    Args:
        classifier: The target classifier (logits); attacked white-box.
        x: Clean images [N, H, W, C] in [0, 1].
        y: Int labels [N] (default: the classifier's predictions).
        eps_max: Largest L-inf budget.
        eps_min_fraction: Smallest budget as a fraction of `eps_max`, in [0, 1].
        attacks: Attacks of the registry among "fgsm" and "bim", each a
            name or a `(name, {argument: value})` pair, e.g.
            `("bim", {"steps": 4})` (I-FGSM with 4 steps). The old spelling
            "ifgsmK" still works for one release (DeprecationWarning).
        chunk_size: Images per attack call.
        seed: Seed of the per-chunk draws.

    Returns:
        `(x_adv, info)`: float32 array like `x`, and a dict with per-image
        "attack" (index into `attacks`) and "eps" arrays.

    Raises:
        ValueError: Bad images, budgets, attack names or sizes.
        TypeError: An attack that is neither a name nor a `(name, kwargs)` pair.
    """
    x = check_batch_images(x, name="x").numpy()
    eps_max = check_eps(eps_max, name="eps_max", allow_zero=False)
    if not 0.0 <= float(eps_min_fraction) <= 1.0:
        raise ValueError(f"`eps_min_fraction` must be in [0, 1], got {eps_min_fraction}.")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    if isinstance(attacks, str) or not attacks:
        raise ValueError("`attacks` must be a non-empty list of attack names.")
    fns = [_attack_fn(name) for name in attacks]
    rng = np.random.default_rng(seed)
    x_adv = np.empty_like(x)
    which = np.empty(len(x), np.int32)
    eps_used = np.empty(len(x), np.float32)
    for start in range(0, len(x), chunk_size):
        stop = min(start + chunk_size, len(x))
        k = int(rng.integers(len(fns)))
        eps = float(rng.uniform(eps_min_fraction * eps_max, eps_max))
        labels = None if y is None else np.asarray(y[start:stop])
        x_adv[start:stop] = fns[k](classifier, x[start:stop], labels, eps)
        which[start:stop] = k
        eps_used[start:stop] = eps
    return x_adv, {"attack": which, "eps": eps_used, "attacks": list(attacks)}
