"""Cost of one Deep Defense training step vs a plain step and a PGD-7 adversarial-training step.

Same model, same batch, each step compiled by Keras (`train_on_batch`);
after `--warmup` calls (tracing), the median of `--repeats` timed calls.
Deep Defense unrolls `--deepfool-steps` DeepFool iterations of
`--num-candidates` input gradients each and back-propagates through them
(second-order), so its cost grows with both. Run by hand:

    python benchmarks/deep_defense_speed.py --model mlp --dataset fashion_mnist \
        --output benchmarks/results/deep_defense_speed.json
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
from tfdefend.training import AdversarialTraining, DeepDefense, compile_classifier
from tfdefend.utils import atomic_write_text


def _median_seconds(step, warmup, repeats):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _copy(model):
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    return clone


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--model", default="mlp", help="registry name, e.g. mlp or small_cnn")
    parser.add_argument("--filters", type=int, default=None, help="small_cnn filters (default: its own)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--deepfool-steps", type=int, default=5)
    parser.add_argument("--num-candidates", type=int, default=10)
    parser.add_argument("--pgd-steps", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--output", default="benchmarks/results/deep_defense_speed.json")
    args = parser.parse_args(argv)

    spec = data.dataset_info(args.dataset)
    x, y = data.load(args.dataset, "train", as_numpy=True, limit=args.batch_size)
    keras.utils.set_random_seed(0)
    options = {} if args.filters is None else {"filters": args.filters}
    base = models.create_model(args.model, input_shape=spec.image_shape, num_classes=spec.num_classes,
                               **options)

    plain = compile_classifier(_copy(base), learning_rate=5e-4)
    pgd_at = AdversarialTraining(_copy(base), attack="pgd", eps=spec.attack_eps, steps=args.pgd_steps,
                                 ratio=1.0, seed=0)
    pgd_at.compile(optimizer=keras.optimizers.Adam(5e-4))
    deep_defense = DeepDefense(_copy(base), deepfool_steps=args.deepfool_steps,
                               num_candidates=args.num_candidates)
    deep_defense.compile(optimizer=keras.optimizers.Adam(5e-4))

    seconds = {}
    trainers = {"plain": plain, f"pgd{args.pgd_steps}_at": pgd_at, "deep_defense": deep_defense}
    for name, trainer in trainers.items():
        seconds[name] = _median_seconds(lambda t=trainer: t.train_on_batch(x, y), args.warmup, args.repeats)
        print(f"{name:>14}: {1000 * seconds[name]:8.1f} ms / step")
    pgd_name = f"pgd{args.pgd_steps}_at"
    ratios = {f"{name}_over_plain": seconds[name] / seconds["plain"] for name in (pgd_name, "deep_defense")}
    ratios[f"deep_defense_over_{pgd_name}"] = seconds["deep_defense"] / seconds[pgd_name]
    for name, value in ratios.items():
        print(f"{name}: {value:.1f}x")
    result = {
        "dataset": args.dataset, "model": args.model, "filters": args.filters, "batch_size": args.batch_size,
        "deepfool_steps": args.deepfool_steps, "num_candidates": args.num_candidates,
        "pgd_steps": args.pgd_steps, "repeats": args.repeats,
        "seconds_per_step": {k: round(v, 5) for k, v in seconds.items()},
        "ratios": {k: round(v, 2) for k, v in ratios.items()},
        "device": (tf.config.list_physical_devices("GPU") or tf.config.list_physical_devices("CPU"))[0].name,
        "cpu_count": os.cpu_count(), "platform": platform.platform(),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__},
        "command": "python benchmarks/deep_defense_speed.py " + " ".join(argv or []),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    atomic_write_text(args.output, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
