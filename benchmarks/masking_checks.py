"""Gradient-masking checks (`tfdefend.evaluation.masking_checks`) on four Fashion-MNIST defenses.

Rows (L-inf eps 0.1 on the first `--limit` test images; every check's
threshold is the library's, the same for every row):

- defensive_distillation: Papernot et al.'s T=20 distillation of two
  `small_cnn`s, trained here on the first `--train-limit` training images
  (`--dd-epochs` epochs per stage), deployed at T=1. Expected flagged: its
  saturated softmax zeroes the cross-entropy gradient (APGD-CE stalls, the
  gradient-free Square attack does not).
- jpeg: JPEG (quality 75) in front of the zoo's `small_cnn_fashion_mnist`,
  white-box through BPDA (identity backward pass). Expected flagged: the
  plain gradient through JPEG is None (zero).
- comdefend: the zoo's ComDefend in front of the same classifier, BPDA with
  ComDefend's straight-through binarizer. Expected flagged: the binarizer's
  plain gradient is zero.
- pgd_at: the zoo's PGD-adversarially-trained `small_cnn_f16` (no masking).
  Expected quiet.

The transfer check uses the undefended classifier as surrogate
(`small_cnn_fashion_mnist` for the first three rows, the zoo's
standard-trained `small_cnn_f16_fashion_mnist` for pgd_at).

Usage:
    python benchmarks/masking_checks.py [--limit 500] [--only ROW ...]
        [--output benchmarks/results/masking_checks.json]
"""

import argparse
import json
import os
import sys
import time

import keras

from tfdefend import data, models
from tfdefend.attacks import auto_attack, bpda
from tfdefend.evaluation import masking_checks
from tfdefend.training import train_defensive_distillation
from tfdefend.utils import atomic_write_text

ROWS = ("defensive_distillation", "jpeg", "comdefend", "pgd_at")
EXPECTED_FLAGGED = {"defensive_distillation": True, "jpeg": True, "comdefend": True, "pgd_at": False}
SHORT = {"black_box_beats_white_box": "square", "large_eps_not_zero": "large eps",
         "more_steps_help": "more steps", "transfer_beats_white_box": "transfer",
         "bpda_beats_plain_gradient": "plain grad"}


def _distilled(args):
    """`(student, seconds)`: a T=20 defensively distilled small_cnn, seeded."""
    keras.utils.set_random_seed(args.seed)
    x_train, y_train = data.load("fashion_mnist", "train", as_numpy=True, limit=args.train_limit)
    start = time.perf_counter()
    student, _ = train_defensive_distillation(models.create_model("small_cnn"), models.create_model("small_cnn"),
                                              x_train, y_train, temperature=20.0,
                                              epochs=(args.dd_epochs, args.dd_epochs), verbose=0)
    return student, round(time.perf_counter() - start, 1)


def _setup(name, args):
    """`(model, attack_model, transfer_from, train_seconds)` of one row."""
    if name == "pgd_at":
        return (models.load_pretrained("small_cnn_f16_pgd_at_fashion_mnist"), None,
                models.load_pretrained("small_cnn_f16_fashion_mnist"), None)
    classifier = models.load_pretrained("small_cnn_fashion_mnist")
    if name == "defensive_distillation":
        student, seconds = _distilled(args)
        return student, None, classifier, seconds
    pre = models.create_model("jpeg") if name == "jpeg" else models.load_pretrained("comdefend_fashion_mnist")
    # BPDA: identity backward pass for JPEG; ComDefend's own straight-through binarizer.
    deployed = models.DefendedClassifier(pre, classifier)
    return deployed, bpda(preprocessor=pre, classifier=classifier), classifier, None


def _cell(check):
    if not check["ran"]:
        return "—"
    v = check["values"]
    if check["name"] == "large_eps_not_zero":
        text = f"{100 * v['robust_accuracy']:.1f}%"
    else:
        keys = [k for k in v if k.endswith("_robust")]
        text = " vs ".join(f"{v[k]}" for k in keys)
    return ("**FLAG** " if check["flagged"] else "ok ") + text


def format_table(rows, limit):
    names = list(SHORT.values())
    with_aa = any("autoattack" in row for row in rows.values())
    head = ["defense", "clean %", "white-box robust %", *(["AutoAttack robust %"] if with_aa else []), *names,
            "flagged", "expected", "seconds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in rows.items():
        r = row["report"]
        aa = [f"{100 * row['autoattack']['robust_accuracy']:.1f}"] if with_aa and "autoattack" in row else \
            ([""] if with_aa else [])
        cells = [name, f"{100 * r['clean_accuracy']:.1f}", f"{100 * r['white_box_robust_accuracy']:.1f}", *aa,
                 *[_cell(c) for c in r["checks"]], "yes" if row["flagged"] else "no",
                 "yes" if row["expected_flagged"] else "no", f"{row['seconds']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Cells: robust image counts (of {limit}) of the check's attack vs the one it is compared "
                 "with, or the robust % at the large budget; — = not applicable.")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=500, help="test images")
    parser.add_argument("--eps", type=float, default=0.1, help="L-inf budget")
    parser.add_argument("--steps", type=int, default=100, help="APGD-CE steps")
    parser.add_argument("--square-queries", type=int, default=1000)
    parser.add_argument("--train-limit", type=int, default=20000, help="training images of the distillation")
    parser.add_argument("--dd-epochs", type=int, default=3, help="epochs of each distillation stage")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", default=None, choices=ROWS, metavar="ROW")
    parser.add_argument("--autoattack", action="store_true",
                        help="also run the standard AutoAttack (white-box through `attack_model`) on each row")
    parser.add_argument("--output", default="benchmarks/results/masking_checks.json")
    args = parser.parse_args(argv)
    command = "python benchmarks/masking_checks.py " + " ".join(argv if argv is not None else sys.argv[1:])
    x, y = data.load("fashion_mnist", "test", as_numpy=True, limit=args.limit)
    rows = {}
    for name in args.only or ROWS:
        model, attack_model, transfer_from, train_seconds = _setup(name, args)
        start = time.perf_counter()
        report = masking_checks(model, x, y, eps=args.eps, attack_model=attack_model,
                                transfer_from=transfer_from, steps=args.steps,
                                square_queries=args.square_queries, seed=args.seed)
        flagged = bool(report["warnings"])
        rows[name] = {"expected_flagged": EXPECTED_FLAGGED[name], "flagged": flagged,
                      "as_expected": flagged == EXPECTED_FLAGGED[name], "train_seconds": train_seconds,
                      "seconds": round(time.perf_counter() - start, 1), "report": report}
        if args.autoattack:
            _, aa = auto_attack(attack_model or model, x, y, eps=args.eps, norm="inf", seed=args.seed)
            rows[name]["autoattack"] = aa
            print(f"{name}: AutoAttack robust {100 * aa['robust_accuracy']:.1f}% ("
                  + ", ".join(f"after {a['name']} {100 * a['robust_accuracy']:.1f}%" for a in aa["attacks"])
                  + ")", flush=True)
        print(f"{name}: {'flagged' if flagged else 'quiet'} in {rows[name]['seconds']:.0f} s", flush=True)
        for warning in report["warnings"]:
            print(f"  - {warning}", flush=True)
    text = format_table(rows, len(y))
    print("\n" + text)
    result = {"command": command, "dataset": "fashion_mnist", "limit": len(y), "eps": args.eps, "norm": "inf",
              "steps": args.steps, "square_queries": args.square_queries, "train_limit": args.train_limit,
              "dd_epochs": args.dd_epochs, "seed": args.seed, "rows": rows}
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    atomic_write_text(args.output, json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
