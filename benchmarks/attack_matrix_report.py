"""The Markdown table and the plot of `attack_matrix.py`'s results (also usable alone on its JSON).

    python benchmarks/attack_matrix_report.py benchmarks/results/attack_matrix
"""

import json
import math
import os
import sys

PEERS = ("cleverhans", "foolbox", "art")
NAMES = {"fgsm": "FGSM", "pgd_linf": "PGD-10 Linf", "pgd_l2": "PGD-10 L2", "mifgsm": "MI-FGSM-10",
         "deepfool": "DeepFool L2", "cw_l2": "C&W-L2 5x100", "apgd_ce": "APGD-CE 100"}


def ratios(cell):
    """`{"limit": limit / tfdefend, peer: peer / tfdefend}` for what the cell timed."""
    s = cell["seconds"]
    ours = s["tfdefend"]
    return {name: s[name] / ours for name in ("limit", *PEERS) if name in s}


def _fmt(value):
    return "–" if value is None else f"{value:.2f}"


def table(cells):
    """Markdown rows: one per cell, tfdefend's time and each ratio."""
    lines = ["| model | input | batch | attack | tfdefend (s) | x raw limit | x cleverhans | x Foolbox | x ART |",
             "|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        r = ratios(c)
        lines.append(f"| {c['model']} | {c['shape']} | {c['batch']} | {NAMES.get(c['attack'], c['attack'])} | "
                     f"{c['seconds']['tfdefend']:.4f} | " + " | ".join(_fmt(r.get(k)) for k in ("limit", *PEERS))
                     + " |")
    return lines


def summary(cells):
    """Per attack: min / max / geometric mean of each ratio over the cells, and batch 1's overhead.

    `batch1_overhead_ms`: the largest `tfdefend - limit` at batch 1 (ms), what a call adds to the
    gradient passes it needs (checks, conversions, dispatch, the attack's own element-wise work).
    """
    out = {}
    for attack in NAMES:
        rows = [ratios(c) for c in cells if c["attack"] == attack]
        if not rows:
            continue
        entry = {"cells": len(rows)}
        extra = [1e3 * (c["seconds"]["tfdefend"] - c["seconds"]["limit"]) for c in cells
                 if c["attack"] == attack and c["batch"] == 1 and "limit" in c["seconds"]]
        if extra:
            entry["batch1_overhead_ms"] = max(extra)
        for key in ("limit", *PEERS):
            values = [r[key] for r in rows if key in r]
            if values:
                entry[key] = {"min": min(values), "max": max(values),
                              "geomean": math.exp(sum(math.log(v) for v in values) / len(values))}
        out[attack] = entry
    return out


def summary_lines(summ):
    lines = ["| attack | cells | x raw limit (worst) | x cleverhans (worst) | x Foolbox (worst) | "
             "x ART (geo. mean; worst) | batch 1: tfdefend − limit (ms) |", "|---|---|---|---|---|---|---|"]
    for attack, e in summ.items():
        def worst(key):
            return _fmt(e[key]["min"]) if key in e else "–"
        art = f"{e['art']['geomean']:.1f}; {e['art']['min']:.1f}" if "art" in e else "–"
        extra = f"{e['batch1_overhead_ms']:.1f}" if "batch1_overhead_ms" in e else "–"
        lines.append(f"| {NAMES[attack]} | {e['cells']} | {worst('limit')} | {worst('cleverhans')} | "
                     f"{worst('foolbox')} | {art} | {extra} |")
    return lines


def plot(summ, path):
    """Bar chart: speed-up vs ART per attack (geometric mean over cells, whiskers min..max)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    attacks = [a for a in summ if "art" in summ[a]]
    if not attacks:
        return False
    g = [summ[a]["art"]["geomean"] for a in attacks]
    lo = [max(g_i - summ[a]["art"]["min"], 0.0) for a, g_i in zip(attacks, g)]
    hi = [max(summ[a]["art"]["max"] - g_i, 0.0) for a, g_i in zip(attacks, g)]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar([NAMES[a] for a in attacks], g, yerr=[lo, hi], capsize=4, color="#4878a8")
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_ylabel("speed-up vs ART (x, log)")
    ax.set_title("tfdefend vs ART, same model and batch (geo. mean over cells, min..max)")
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return True


def write_report(done, out_dir):
    """Writes `attack_matrix.md` (summary + every cell) and `attack_matrix.png`; prints the summary."""
    from tfdefend.utils import atomic_write_text

    cells = done["cells"]
    for cell in cells:
        cell["ratios"] = ratios(cell)
    summ = summary(cells)
    done["summary"] = summ
    atomic_write_text(os.path.join(out_dir, "attack_matrix.json"), json.dumps(done, indent=1))
    head = (f"TensorFlow {done.get('tensorflow')}, {done.get('cpus')} CPUs, libraries {done.get('libraries')}; "
            f"best of {done.get('repeats')} round-robin calls after {done.get('warmups')} warm-ups.")
    text = "\n".join([head, "", *summary_lines(summ), "", *table(cells), ""])
    atomic_write_text(os.path.join(out_dir, "attack_matrix.md"), text)
    plot(summ, os.path.join(out_dir, "attack_matrix.png"))
    print("\n".join(summary_lines(summ)))
    return summ


if __name__ == "__main__":
    directory = sys.argv[1]
    write_report(json.load(open(os.path.join(directory, "attack_matrix.json"))), directory)
