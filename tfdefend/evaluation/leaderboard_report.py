"""The leaderboard as Markdown and as a plot (robust vs clean accuracy)."""

import numpy as np

from tfdefend.utils.atomic import atomic_path

ATTACK_COLUMNS = ("apgd-ce", "apgd-t", "fab-t", "square", "apgd-ce-eot", "apgd-dlr-eot")
# Short names of the gradient-masking checks for the table's warning column.
CHECK_LABELS = {
    "black_box_beats_white_box": "black-box > white-box",
    "large_eps_not_zero": "large eps not ~0",
    "more_steps_help": "more steps help",
    "transfer_beats_white_box": "transfer > white-box",
    "bpda_beats_plain_gradient": "BPDA > plain gradient",
}


def _percent(value):
    return "" if value is None else f"{100 * value:.2f}"


def _flags(row):
    masking = row.get("masking")
    if not masking:
        return "n/a (black-box only)" if row["kind"] == "tflite" else ""
    flagged = [CHECK_LABELS.get(c["name"], c["name"]) for c in masking["checks"] if c.get("flagged")]
    return ", ".join(flagged) if flagged else "none"


def format_leaderboard(rows, *, title=None):
    """Markdown table: rank, entry, threat model, clean, AutoAttack robust, after each attack, warnings, n, s.

    The "after ATTACK" columns hold the robust accuracy after that attack
    of the ensemble (each runs only on the points still robust, so they
    fall from left to right); "masking" lists the gradient-masking checks
    that fired (on the first `check_n` images), "none" if none did.
    """
    attacks = [a for a in ATTACK_COLUMNS if any(a == x["name"] for r in rows for x in r["attacks"])]
    header = (["#", "model / defense", "attacked with", "clean %", "AutoAttack robust %"]
              + [f"after {a} %" for a in attacks] + ["masking warnings", "n", "seconds"])
    lines = []
    if title:
        lines += [title, ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for rank, row in enumerate(rows, 1):
        after = {a["name"]: a["robust_accuracy"] for a in row["attacks"]}
        cells = ([str(rank), row["name"], row["threat"], _percent(row["clean_accuracy"]),
                  f"**{_percent(row['robust_accuracy'])}**"]
                 + [_percent(after.get(a)) for a in attacks]
                 + [_flags(row), f"{row['n']:,}", f"{row['seconds']:.0f}"])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_leaderboard(rows, path, *, title=None):
    """Scatter of AutoAttack robust accuracy against clean accuracy, one labelled point per row (PNG, atomic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        raise ValueError("`rows` is empty: nothing to plot.")
    markers = {"classifier": "o", "defense": "s", "tflite": "^"}
    fig, ax = plt.subplots(figsize=(8, 6))
    for kind, marker in markers.items():
        pts = [r for r in rows if r["kind"] == kind]
        if not pts:
            continue
        clean = np.array([100 * r["clean_accuracy"] for r in pts])
        robust = np.array([100 * r["robust_accuracy"] for r in pts])
        ax.scatter(clean, robust, marker=marker, s=40, label=kind)
        for r, cx, rx in zip(pts, clean, robust):
            ax.annotate(r["name"], (cx, rx), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("clean accuracy (%)")
    ax.set_ylabel("AutoAttack robust accuracy (%)")
    ax.set_title(title or "robust vs clean accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
