"""Robustness of every pretrained zoo classifier under the foundation's attacks.

For each zoo entry: clean accuracy, then FGSM / BIM / MI-FGSM / PGD-10 (L-inf,
at 0.5x, 1x, 2x the data set's usual eps), PGD-20 L2, and the minimal-norm
attacks DeepFool, C&W-L2 and JSMA (targeted, random targets) on a smaller
subset, with the mean l0 / l2 / l-inf of each perturbation.

Usage:
    python benchmarks/zoo_robustness.py [--limit 1000] [--small-limit 200]
        [--only NAME ...] [--output benchmarks/results/zoo_robustness.json]
"""

import argparse
import functools
import json
import os
import sys
import time

import numpy as np

from tfdefend import attacks, data, models
from tfdefend.evaluation import attack_suite, format_table, robustness_table
from tfdefend.utils import atomic_write_text


def _jsma(model, x, y, num_classes):
    rng = np.random.default_rng(0)
    target = (y + rng.integers(1, num_classes, size=y.shape)) % num_classes
    return attacks.jsma(model, x, target, theta=1.0, gamma=0.1)


def evaluate(name, limit, small_limit):
    entry = models.pretrained_info(name)
    spec = data.dataset_info(entry["dataset"])
    model = models.load_pretrained(name)
    eps = spec.attack_eps
    eps_values = [round(eps * k, 4) for k in (0.5, 1.0, 2.0) if eps * k <= 1.0]
    dense = attack_suite(eps_values, pgd_steps=10, include=("fgsm", "bim", "mifgsm", "pgd"))
    l2_eps = round(float(np.sqrt(np.prod(spec.image_shape))) * eps / 4, 3)
    dense[f"PGD-20 L2 eps={l2_eps}"] = lambda m, x, y: attacks.pgd(
        m, x, y, eps=l2_eps, step_size=2.5 * l2_eps / 20, steps=20, norm="l2")
    test = data.load(entry["dataset"], "test", batch_size=250, limit=limit)
    rows = robustness_table(model, test, dense, batch_size=250)
    minimal = {
        "DeepFool (50 it, overshoot 0.02)": lambda m, x, y: attacks.deepfool(m, x, steps=50, overshoot=0.02),
        "C&W-L2 (5x100)": lambda m, x, y: attacks.carlini_wagner_l2(m, x, y, binary_search_steps=5, steps=100),
        "JSMA targeted (gamma 0.1)": functools.partial(_jsma, num_classes=spec.num_classes),
    }
    small = data.load(entry["dataset"], "test", batch_size=100, limit=small_limit)
    small_rows = robustness_table(model, small, minimal, batch_size=100)
    return {"model": name, "dataset": entry["dataset"], "eps": eps, "rows": rows, "minimal_rows": small_rows}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--small-limit", type=int, default=200)
    parser.add_argument("--only", nargs="+", default=None)
    parser.add_argument("--output", default="benchmarks/results/zoo_robustness.json")
    args = parser.parse_args(argv)
    results = []
    for name in args.only or models.list_pretrained(kind="classifier"):
        try:
            start = time.perf_counter()
            result = evaluate(name, args.limit, args.small_limit)
        except FileNotFoundError as exc:
            print(f"skipping {name}: {exc}", file=sys.stderr)
            continue
        result["seconds"] = round(time.perf_counter() - start, 1)
        results.append(result)
        print(f"\n## {name} ({result['dataset']}, {result['rows'][0]['n']} test images; "
              f"minimal-norm attacks on {result['minimal_rows'][0]['n']})\n")
        print(format_table(result["rows"]))
        print()
        print(format_table(result["minimal_rows"][1:], columns=("attack", "accuracy", "success_rate",
                                                                "l0", "l2", "linf", "seconds")))
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    atomic_write_text(args.output, json.dumps({"results": results}, indent=2) + "\n")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
