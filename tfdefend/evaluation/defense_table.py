"""`defense_table`: preprocessing defenses under oblivious, gray-box and adaptive attacks.

Three threat models, from weakest to strongest attacker (Athalye et al.,
ICML 2018, on why the last one is the one that counts):

- **oblivious**: the adversarial examples are crafted on the bare classifier
  and then passed through the defense (the attacker ignores the defense;
  ComDefend's paper, Jia et al., CVPR 2019, calls this setting "white-box";
  the attacker knows only the classifier).
- **gray_box**: crafted end to end on the defended model with its own
  gradients, as they are. Non-differentiable steps (JPEG, quantization,
  binarized codes) give zero or useless gradients: this row shows how much
  of a defense's "robustness" is gradient masking.
- **adaptive**: full white-box, crafted with BPDA (the defense's backward
  pass replaced by the identity or a given differentiable approximation),
  averaged with EOT over `eot_samples` draws when the defense is randomized.
"""

import numpy as np

from tfdefend.attacks import bpda, eot
from tfdefend.evaluation.batching import iterate_batches
from tfdefend.evaluation.metrics import check_adversarial, correct_mask, predict_labels
from tfdefend.utils.validation import check_positive_int

MODES = ("oblivious", "gray_box", "adaptive")


def check_attacks(attacks):
    """`attacks` (a mapping or a list of pairs) as a list of `(name, callable)` pairs, else TypeError."""
    if isinstance(attacks, (str, bytes)) or not hasattr(attacks, "__iter__"):
        raise TypeError("`attacks` must map names to callables attack(model, x, y) -> x_adv, got "
                        f"{type(attacks).__name__}.")
    items = list(attacks.items()) if isinstance(attacks, dict) else list(attacks)
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and callable(item[1])):
            raise TypeError("`attacks` must map names to callables attack(model, x, y) -> x_adv.")
    return items


def defense_table(classifier, defenses, data, attacks, *, modes=MODES, approximations=None,
                  eot_samples=1, batch_size=256, limit=None):
    """Accuracy of each defense, clean and under each attack and threat model.

    Streams the data batch by batch (constant memory). The undefended
    classifier is always included as defense "none" (where all three modes
    coincide, only its oblivious rows are computed: they are the bare
    classifier's white-box numbers).

    Args:
        classifier: The classifier (logits) behind every defense.
        defenses: Mapping name -> preprocessor (`images -> images` Keras
            model or callable).
        data: `(x, y)` arrays or a `tf.data.Dataset` of `(x, y)`.
        attacks: Mapping (or list of pairs) name -> `attack(model, x, y)`,
            e.g. from `attack_suite`; an attack's `family` and `eps`
            attributes, when present, are copied into its rows.
        modes: Subset of ("oblivious", "gray_box", "adaptive").
        approximations: Optional mapping defense name -> BPDA approximation
            (a callable or "identity"); by default `bpda`'s: the defense's
            own `differentiable_approximation` if it has one (ComDefend:
            straight-through binarizer), else the identity.
        eot_samples: EOT draws in adaptive mode (1 = no EOT).
        batch_size: Batch size for array data.
        limit: Evaluate at most this many samples.

    Returns:
        A list of row dicts with keys `defense`, `mode`, `attack`, `family`,
        `eps`, `accuracy`, `n`; clean rows have `attack="clean"`,
        `mode="clean"`, `eps=0.0`.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    eot_samples = check_positive_int(eot_samples, "eot_samples")
    items = check_attacks(attacks)
    if isinstance(modes, (str, bytes)) or not hasattr(modes, "__iter__"):
        raise TypeError(f"`modes` must be a list of modes among {MODES}, got {modes!r}.")
    bad = [m for m in modes if not isinstance(m, str) or m not in MODES]
    if bad:
        raise ValueError(f"Unknown modes {bad}; known modes: {MODES}.")
    if not isinstance(defenses, dict) or not all(callable(d) for d in defenses.values()):
        raise TypeError("`defenses` must map names to preprocessors (callables images -> images).")
    if "none" in defenses:
        raise ValueError("The defense name 'none' is reserved for the undefended classifier.")
    approximations = approximations or {}
    if not isinstance(approximations, dict):
        raise TypeError(f"`approximations` must map defense names to approximations, got "
                        f"{type(approximations).__name__}.")
    defended = {"none": classifier}
    adaptive = {}
    for name, pre in defenses.items():
        wrapped = bpda(preprocessor=pre, classifier=classifier, approximation=approximations.get(name))
        defended[name] = wrapped.forward_model  # classifier(pre(x)) with its own (plain) gradients
        adaptive[name] = eot(wrapped, samples=eot_samples) if eot_samples > 1 else wrapped
    counts = {}
    n = 0

    def add(key, correct):
        counts[key] = counts.get(key, 0) + int(correct.sum())

    for x, y in iterate_batches(data, batch_size, limit):
        n += len(y)
        for name, model in defended.items():
            add((name, "clean", "clean"), correct_mask(model, x, y))
        for attack_name, attack in items:
            oblivious = None
            if "oblivious" in modes:
                oblivious = check_adversarial(attack_name, x, attack(classifier, x, y))
            for name, model in defended.items():
                for mode in modes:
                    if name == "none" and mode != "oblivious":
                        continue
                    if mode == "oblivious":
                        x_adv = oblivious
                    elif mode == "gray_box":
                        x_adv = check_adversarial(attack_name, x, attack(model, x, y))
                    else:
                        x_adv = check_adversarial(attack_name, x, attack(adaptive[name], x, y))
                    add((name, mode, attack_name), predict_labels(model, x_adv) == y)
    if n == 0:
        raise ValueError("`data` holds no samples.")
    info = {name: (getattr(fn, "family", name), getattr(fn, "eps", None)) for name, fn in items}
    info["clean"] = ("clean", 0.0)
    return [{"defense": d, "mode": m, "attack": a, "family": info[a][0], "eps": info[a][1],
             "accuracy": c / n, "n": n} for (d, m, a), c in counts.items()]


def pivot_defense_table(rows):
    """Pivots `defense_table` rows into one row per defense with a column per (attack, mode)."""
    table = {}
    for row in rows:
        entry = table.setdefault(row["defense"], {"defense": row["defense"]})
        key = "clean" if row["attack"] == "clean" else f"{row['attack']} ({row['mode']})"
        entry[key] = row["accuracy"]
    return list(table.values())


def format_defense_table(rows):
    """Markdown: one line per defense, accuracy (%) per attack x mode column."""
    pivot = pivot_defense_table(rows)
    attack_order = list(dict.fromkeys(r["attack"] for r in rows if r["attack"] != "clean"))
    columns = ["defense", "clean"] + [f"{a} ({m})" for a in attack_order for m in MODES
                                      if any(f"{a} ({m})" in r for r in pivot)]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in pivot:
        cells = [row["defense"]] + [f"{100 * row[c]:.1f}" if c in row else "" for c in columns[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_defense_table(rows, path):
    """Plots accuracy vs eps, one panel per attack family, one line per defense x mode; writes a PNG atomically.

    Only rows whose attack has an `eps` (e.g. from `attack_suite`) are drawn.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tfdefend.utils.atomic import atomic_path

    attacks = sorted({r["family"] for r in rows if r["attack"] != "clean" and r["eps"] is not None})
    if not attacks:
        raise ValueError("`rows` hold no attack with an `eps` to plot (build attacks with `attack_suite`).")
    fig, axes = plt.subplots(1, len(attacks), figsize=(6 * len(attacks), 4.5), squeeze=False)
    styles = {"oblivious": ":", "gray_box": "--", "adaptive": "-"}
    defenses = list(dict.fromkeys(r["defense"] for r in rows))
    colours = {d: plt.cm.tab10(i % 10) for i, d in enumerate(defenses)}
    clean = {r["defense"]: r["accuracy"] for r in rows if r["attack"] == "clean"}
    for ax, attack in zip(axes[0], attacks):
        for defense in defenses:
            for mode, style in styles.items():
                pts = sorted((r["eps"], r["accuracy"]) for r in rows
                             if r["family"] == attack and r["defense"] == defense and r["mode"] == mode
                             and r["attack"] != "clean" and r["eps"] is not None)
                if pts:
                    eps, acc = zip(*([(0.0, clean[defense])] + pts))
                    ax.plot(eps, np.array(acc) * 100, style, marker="o", ms=3, color=colours[defense],
                            label=f"{defense} ({mode})")
        ax.set_title(f"{attack.upper()} (L-inf)")
        ax.set_xlabel("eps")
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
