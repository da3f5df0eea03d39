"""Joins several `benchmarks/advmask.py` result files into one table (runs split over seeds or models).

On 2 CPU cores the AdvMask table is run in pieces (e.g. one command per
model, or more seeds later); this joins their per-run lists, refusing files
whose training or attack settings differ, and writes the combined JSON (every
piece's command and config under "runs") and the Markdown table.

Usage:
    python benchmarks/advmask_combine.py a.json b.json --output benchmarks/results/advmask_fashion_mnist.json
"""

import argparse
import json

import keras
import tensorflow as tf
from advmask import markdown, summary

from tfdefend.utils import atomic_write_text

# Settings every piece must share (models, seeds, ablation and BN momentum may differ per piece).
SHARED = ("epochs", "batch_size", "lr", "limit_train", "limit_test", "pgd_limit", "pgd_steps", "pgd_eps",
          "cutout_size", "sp_eps", "sp_steps", "sp_lr", "sp_lam", "sp_eta", "sp_limit", "advmask_probability")


def combine(reports, paths):
    """(results, sensitive points, markdown args) of the joined reports; SystemExit if settings differ."""
    first = reports[0]["config"]
    for path, report in zip(paths, reports):
        config = report["config"]
        differ = {k: (first.get(k), config.get(k)) for k in SHARED if config.get(k) != first.get(k)}
        if differ:
            raise SystemExit(f"{path}: settings differ from {paths[0]} (first, this): {differ}")
    results, points, seeds = {}, {}, set()
    for report in reports:
        points.update(report["sensitive_points"])
        seeds.update(report["config"]["seeds"])
        for name, rows in report["results"].items():
            for method, row in rows.items():
                empty = {"clean": [], "pgd": [], "seconds": []}
                joined = results.setdefault(name, {}).setdefault(method, empty)
                for key in joined:
                    joined[key] += row[key]
    ablation_models = [name for name, rows in results.items() if rows.get("adv", {}).get("clean")]
    args = argparse.Namespace(**{**first, "models": list(results), "seeds": sorted(seeds),
                                 "ablation": bool(ablation_models), "ablation_models": ablation_models})
    return results, points, args


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", help="result JSON files of benchmarks/advmask.py")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    reports = []
    for path in args.inputs:
        with open(path) as f:
            reports.append(json.load(f))
    results, points, table_args = combine(reports, args.inputs)
    report = {"runs": [{"command": r["command"], "config": r["config"]} for r in reports],
              "results": results, "summary": summary(results), "sensitive_points": points,
              "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}}
    atomic_write_text(args.output, json.dumps(report, indent=2) + "\n")
    print(markdown(results, table_args))
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
