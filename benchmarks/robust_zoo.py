"""The robust zoo against its target: clean, PGD-40, AutoAttack, int8 and training cost of each robust classifier.

Gathers, for every Fashion-MNIST zoo classifier trained against attacks
(`--names`), the figures measured elsewhere and checks them against the
issue's target (>= 85% clean and >= 70% AutoAttack robust accuracy at
eps = 0.1 L-inf):

- clean and PGD-40 accuracy on the full 10,000-image test split and the
  int8 app bundle's top-1 agreement (the manifest, from
  `benchmarks/zoo_figures.py`);
- AutoAttack (standard, L-inf 0.1 and L2 1.5) and Square on the int8
  `.tflite` in LiteRT, from the `tfdefend leaderboard` JSONs given
  (`--leaderboards`; per model and threat the run with the most images);
- the per-epoch curves (clean and PGD-10 accuracy on the 1,000 held-out
  training images) and the training wall time (2 CPU cores shared with
  the evaluations that ran beside it), from the training metrics JSON
  beside each zoo file;
- the step cost relative to plain training, from
  `benchmarks/robust_training_speed.py`'s JSON.

Usage (from the repository root, after those):
    python benchmarks/robust_zoo.py [--output benchmarks/results/robust_zoo.json]

Prints a Markdown table and writes JSON, Markdown and a plot of the
curves, atomically. Measures nothing itself.
"""

import argparse
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tfdefend.models.zoo import ZOO_DIR, read_manifest  # noqa: E402
from tfdefend.utils import atomic_write_text  # noqa: E402

NAMES = ("small_cnn_f16_trades_fashion_mnist", "small_cnn_f16_fast_at_fashion_mnist",
         "small_cnn_f16_pgd_at_scratch_fashion_mnist", "resnet_fast_at_fashion_mnist",
         "small_cnn_f16_pgd_at_fashion_mnist")
TARGET = {"clean_accuracy": 0.85, "autoattack_inf": 0.70}
LEADERBOARDS = "benchmarks/results/leaderboard/fashion_mnist_*/leaderboard_*.json"
SPEED = "benchmarks/results/robust_training_speed.json"


def _best_rows(paths):
    """{(row name, norm): row} with the most images over the leaderboard JSONs, each with its file."""
    best = {}
    for path in sorted(paths):
        with open(path, encoding="utf-8") as handle:
            result = json.load(handle)
        for row in result["rows"]:
            key = (row["name"], row["norm"])
            if key not in best or row["n"] > best[key]["n"]:
                best[key] = {**row, "results": os.path.relpath(path, ROOT)}
    return best


def _autoattack(rows, name, norm, sha256):
    row = rows.get((name, norm))
    if row is None or not row.get("fingerprint", "").startswith(sha256):
        return None
    return {"robust_accuracy": row["robust_accuracy"], "clean_accuracy": row["clean_accuracy"], "n": row["n"],
            "eps": row.get("eps_used", row["eps"]), "seconds": round(row["seconds"], 1),
            "after": {a["name"]: a["robust_accuracy"] for a in row.get("attacks", [])},
            "warnings": row.get("warnings", []), "results": row["results"]}


def summarize(names, leaderboard_paths, speed_path):
    manifest = read_manifest()
    rows = _best_rows(leaderboard_paths)
    speed, speed_params = {}, None
    if os.path.isfile(speed_path):
        with open(speed_path, encoding="utf-8") as handle:
            measured = json.load(handle)
        speed, speed_params = measured["rows"], measured.get("params")
    models = {}
    for name in names:
        entry = manifest.get(name)
        if entry is None:
            continue
        with open(os.path.join(ZOO_DIR, f"{name}.json"), encoding="utf-8") as handle:
            metrics = json.load(handle)
        defense = entry["defense"]
        aa_inf = _autoattack(rows, name, "inf", entry["sha256"])
        row = {
            "defense": defense,
            "command": entry["command"],
            "params": entry["params"],
            "clean_accuracy": entry["clean_accuracy"],
            "pgd40_accuracy": entry.get("pgd_accuracy"),
            "test_examples": entry["test_examples"],
            "autoattack_inf": aa_inf,
            "autoattack_l2": _autoattack(rows, name, "l2", entry["sha256"]),
            "int8_top1_agreement": entry.get("int8", {}).get("top1_agreement"),
            "int8_square_inf": _autoattack(rows, f"{name} (int8 TFLite)", "inf", entry["sha256"]),
            "int8_square_l2": _autoattack(rows, f"{name} (int8 TFLite)", "l2", entry["sha256"]),
            "epochs": metrics["epochs"],
            "train_examples": metrics.get("train_examples", metrics.get("finetune_examples")),
            "train_wall_hours": (round(metrics["train_seconds"] / 3600, 2) if "train_seconds" in metrics
                                 else None),
            "train_images_per_second": metrics.get("train_images_per_second"),
            # The speed benchmark measured the 16-filter small_cnn: its ratios hold for that model only.
            "step_cost_vs_plain": (speed.get(defense, {}).get("cost_vs_plain")
                                   if entry["model"] == "small_cnn" and entry["params"] == speed_params
                                   and not metrics.get("finetuned_from") else None),
            "pgd10_curve": metrics.get("pgd_curve"),
            "clean_curve": metrics.get("clean_curve"),
            "guard_triggered": metrics.get("guard_triggered"),
            "finetuned_from": metrics.get("finetuned_from") or entry.get("finetuned_from"),
        }
        row["meets_target"] = bool(aa_inf and row["clean_accuracy"] >= TARGET["clean_accuracy"]
                                   and aa_inf["robust_accuracy"] >= TARGET["autoattack_inf"])
        models[name] = row
    return {"benchmark": "robust_zoo", "dataset": "fashion_mnist", "target": TARGET, "models": models,
            "command": "python benchmarks/robust_zoo.py"}


def _pct(value):
    return "–" if value is None else f"{100 * value:.2f}"


def format_table(result):
    lines = ["| model | defense | clean % (10,000) | PGD-40 % (10,000) | AutoAttack L∞ 0.1 % (n) | "
             "AutoAttack L2 1.5 % (n) | int8: top-1 agreement % / Square L∞ % | training hours, 2 cores (epochs) | "
             "step cost × plain | target 85/70 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, row in result["models"].items():
        aa = {norm: row[f"autoattack_{norm}"] for norm in ("inf", "l2")}
        aa_text = {norm: "–" if a is None else f"**{_pct(a['robust_accuracy'])}** ({a['n']})"
                   for norm, a in aa.items()}
        square = row["int8_square_inf"]
        int8 = f"{_pct(row['int8_top1_agreement'])} / {'–' if square is None else _pct(square['robust_accuracy'])}"
        cost = "–" if row["step_cost_vs_plain"] is None else f"{row['step_cost_vs_plain']:.1f}"
        hours = "–" if row["train_wall_hours"] is None else f"{row['train_wall_hours']:.2f}"
        if row["finetuned_from"]:
            hours += ", fine-tuned"
        lines.append(f"| `{name}` | {row['defense']} | {_pct(row['clean_accuracy'])} | {_pct(row['pgd40_accuracy'])} | "
                     f"{aa_text['inf']} | {aa_text['l2']} | {int8} | {hours} ({row['epochs']}) | "
                     f"{cost} | {'met' if row['meets_target'] else 'missed'} |")
    return "\n".join(lines)


def _short(name):
    return name.removesuffix("_fashion_mnist").replace("small_cnn_f16_", "")


def plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, row in result["models"].items():
        if not row["pgd10_curve"]:
            continue
        epochs = range(1, len(row["pgd10_curve"]) + 1)
        line, = ax.plot(epochs, [100 * v for v in row["pgd10_curve"]], marker="o", label=f"{_short(name)}: PGD-10")
        ax.plot(epochs, [100 * v for v in row["clean_curve"]], linestyle="--", color=line.get_color(),
                label=f"{_short(name)}: clean")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy % (clean: test split; PGD-10: 1,000 held-out train images)")
    ax.set_title("Fashion-MNIST, eps = 0.1 L-inf (small_cnn 16 filters; ResNet)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", nargs="+", default=list(NAMES))
    parser.add_argument("--leaderboards", nargs="+", default=None,
                        help=f"leaderboard JSONs (default: {LEADERBOARDS})")
    parser.add_argument("--speed", default=SPEED)
    parser.add_argument("--output", default="benchmarks/results/robust_zoo.json")
    args = parser.parse_args(argv)
    paths = args.leaderboards or glob.glob(os.path.join(ROOT, LEADERBOARDS))
    result = summarize(args.names, paths, os.path.join(ROOT, args.speed))
    table = format_table(result)
    print(table)
    base = os.path.splitext(args.output)[0]
    atomic_write_text(args.output, json.dumps(result, indent=2) + "\n")
    atomic_write_text(base + ".md", table + "\n")
    plot(result, base + ".png")
    print(f"wrote {args.output}, {base}.md, {base}.png")


if __name__ == "__main__":
    main()
