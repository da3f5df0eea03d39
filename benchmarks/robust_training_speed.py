"""Training cost of each robust trainer vs plain training: images per second, same model, same batch, one run.

Each step is compiled by Keras (`train_on_batch`); after `--warmup` calls
(tracing), the median of `--repeats` timed calls, the trainers interleaved
round-robin so that a noisy machine slows them alike. Ratios (cost of a
step relative to a plain step) are the figure to compare; the floors are
the passes each step needs: fast-AT 2 forward-backward passes, PGD-AT-7
(`AdversarialTraining(attack="pgd", steps=7, ratio=1)`) 8, PGD-AT-10 11,
TRADES-10 and MART-10 11 plus a forward pass. Run by hand:

    python benchmarks/robust_training_speed.py --output benchmarks/results/robust_training_speed.json
"""

import argparse
import json
import os
import platform
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from tfdefend import data, models
from tfdefend.training import compile_classifier, robust_trainer
from tfdefend.utils import atomic_write_text

TRAINERS = ("plain", "fast-at", "pgd-at-7", "pgd-at", "trades", "mart")
INNER_STEPS = {"pgd-at-7": ("pgd-at", 7)}  # a trainer with a non-default inner attack: (defense, steps)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--filters", type=int, default=16, help="small_cnn filters (the robust zoo's 16)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--eps", type=float, default=0.1)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--trainers", nargs="+", default=list(TRAINERS), choices=TRAINERS)
    parser.add_argument("--output", default="benchmarks/results/robust_training_speed.json")
    args = parser.parse_args(argv)
    trainers = ["plain"] + [t for t in args.trainers if t != "plain"]

    spec = data.dataset_info(args.dataset)
    x, y = data.load(args.dataset, "train", as_numpy=True, limit=args.batch_size)
    x, y = tf.constant(x), tf.constant(y)
    steps = {}
    for name in trainers:
        keras.utils.set_random_seed(0)
        net = models.create_model("small_cnn", input_shape=spec.image_shape, num_classes=spec.num_classes,
                                  filters=args.filters)
        if name == "plain":
            trainer = compile_classifier(net)
        else:
            defense, inner = INNER_STEPS.get(name, (name, None))
            trainer = robust_trainer(defense, net, eps=args.eps, steps=inner, seed=0)
            trainer.compile(optimizer=keras.optimizers.Adam(1e-3))
        steps[name] = trainer
        for _ in range(args.warmup):
            trainer.train_on_batch(x, y)
    times = {name: [] for name in trainers}
    for _ in range(args.repeats):  # round-robin
        for name in trainers:
            start = time.perf_counter()
            steps[name].train_on_batch(x, y)
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(values) for name, values in times.items()}
    rows = {name: {"seconds_per_step": round(median[name], 5),
                   "images_per_second": round(args.batch_size / median[name], 1),
                   "cost_vs_plain": round(median[name] / median["plain"], 2)} for name in trainers}
    print(f"small_cnn (filters {args.filters}), {args.dataset}, batch {args.batch_size}, eps {args.eps}: "
          f"median of {args.repeats} steps, round-robin")
    print(f"{'trainer':<10} {'s/step':>9} {'images/s':>10} {'x plain':>8}")
    for name, row in rows.items():
        print(f"{name:<10} {row['seconds_per_step']:>9.4f} {row['images_per_second']:>10.1f} "
              f"{row['cost_vs_plain']:>8.2f}")
    result = {"benchmark": "robust_training_speed", "dataset": args.dataset, "model": "small_cnn",
              "filters": args.filters, "params": int(steps["plain"].count_params()), "batch_size": args.batch_size, "eps": args.eps, "repeats": args.repeats,
              "rows": rows, "command": "python benchmarks/robust_training_speed.py",
              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "tensorflow": tf.__version__, "keras": keras.__version__},
              "numpy": np.__version__}
    atomic_write_text(args.output, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
