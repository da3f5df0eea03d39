"""Deep Defense fine-tuning variants of one zoo reference: candidate classes, lambda, c, d, schedule.

Each variant fine-tunes a fresh copy of `--reference` (default
`small_cnn_f16_fashion_mnist`, the reference of the zoo's Deep Defense
model) on the first `--limit-finetune` training images with the paper's
schedule (Adam `--lr`, halved at 80% of `--epochs`, batch 100), then
reports clean accuracy and rho2 (DeepFool, 50 steps, correctly classified
images) on the first `--limit-test` test images, and the training time.
A variant is `key=value` pairs joined by commas, keys among
`num_candidates`, `lam`, `c`, `d`, `deepfool_steps`, `lr`, `epochs`,
`second_order_steps` (-1: all, the exact gradient; n: the approximation
with the first n iterations' normals carrying gradient);
unset keys keep the paper's values (num_candidates 10, the full DeepFool).

    python benchmarks/deep_defense_variants.py --variants num_candidates=10 num_candidates=3 \\
        num_candidates=2 --output benchmarks/results/deep_defense_variants.json
"""

import argparse
import json
import os
import sys
import time

import keras

from tfdefend import data, models
from tfdefend.evaluation import accuracy, rho2
from tfdefend.training import DeepDefense
from tfdefend.utils import atomic_write_text

PAPER = {"num_candidates": 10, "lam": 15.0, "c": 25.0, "d": 5.0, "deepfool_steps": 5, "lr": 5e-4, "epochs": 5,
         "second_order_steps": -1}


def parse_variant(text):
    """`"num_candidates=2,lam=5"` -> the paper's settings with those changed."""
    variant = dict(PAPER)
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in PAPER:
            raise ValueError(f"variant items are KEY=VALUE with KEY in {sorted(PAPER)}, got {item!r}")
        variant[key] = type(PAPER[key])(float(value)) if isinstance(PAPER[key], int) else float(value)
    return variant


def fine_tune(reference, variant, x, y, batch_size, seed):
    """A copy of `reference` fine-tuned with Deep Defense; returns (classifier, seconds)."""
    keras.utils.set_random_seed(seed)
    classifier = models.load_pretrained(reference)
    trainer = DeepDefense(classifier, lam=variant["lam"], c=variant["c"], d=variant["d"],
                          deepfool_steps=variant["deepfool_steps"], num_candidates=variant["num_candidates"],
                          second_order_steps=None if variant["second_order_steps"] < 0
                          else variant["second_order_steps"])
    steps = variant["epochs"] * -(-len(x) // batch_size)
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        [int(0.8 * steps)], [variant["lr"], variant["lr"] / 2])
    trainer.compile(optimizer=keras.optimizers.Adam(schedule))
    start = time.perf_counter()
    trainer.fit(x, y, batch_size=batch_size, epochs=variant["epochs"], verbose=0)
    return classifier, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="small_cnn_f16_fashion_mnist")
    parser.add_argument("--variants", nargs="+", default=["num_candidates=10", "num_candidates=2"])
    parser.add_argument("--limit-finetune", type=int, default=5000)
    parser.add_argument("--limit-test", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="benchmarks/results/deep_defense_variants.json")
    args = parser.parse_args(argv)

    dataset = models.pretrained_info(args.reference)["dataset"]
    x, y = data.load(dataset, "train", as_numpy=True, limit=args.limit_finetune)
    x_test, y_test = data.load(dataset, "test", as_numpy=True, limit=args.limit_test)
    reference = models.load_pretrained(args.reference)
    rows = [{"variant": "reference (no fine-tuning)", "settings": None, "seconds": 0.0,
             "clean_accuracy": accuracy(reference, x_test, y_test),
             "rho2": float(rho2(reference, x_test, y_test))}]
    print(f"{rows[0]['variant']}: clean {rows[0]['clean_accuracy']:.4f}, rho2 {rows[0]['rho2']:.4f}")
    for text in args.variants:
        variant = parse_variant(text)
        classifier, seconds = fine_tune(args.reference, variant, x, y, args.batch_size, args.seed)
        clean = accuracy(classifier, x_test, y_test)
        rows.append({"variant": text, "settings": variant, "seconds": round(seconds, 1),
                     "clean_accuracy": clean, "rho2": float(rho2(classifier, x_test, y_test))})
        print(f"{text}: clean {clean:.4f}, rho2 {rows[-1]['rho2']:.4f}, {seconds:.0f} s", flush=True)

    lines = ["| variant | clean % | rho2 | fine-tuning s |", "|---|---|---|---|"]
    lines += [f"| {r['variant']} | {100 * r['clean_accuracy']:.1f} | {r['rho2']:.4f} | {r['seconds']:.0f} |"
              for r in rows]
    print("\n".join(lines))
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    atomic_write_text(args.output, json.dumps({
        "reference": args.reference, "dataset": dataset, "limit_finetune": args.limit_finetune,
        "limit_test": args.limit_test, "batch_size": args.batch_size, "seed": args.seed, "rows": rows,
        "table": "\n".join(lines), "command": " ".join(
            ["python benchmarks/deep_defense_variants.py", *(sys.argv[1:] if argv is None else argv)])},
        indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
