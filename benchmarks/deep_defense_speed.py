"""Cost of one Deep Defense training step vs a plain step and a PGD-7 adversarial-training step.

Same model, same batch, each step compiled by Keras (`train_on_batch`);
after `--warmup` calls (tracing), the median of `--repeats` timed calls,
the trainers taking turns (round-robin) so that load on a shared machine
hits them alike. The model is first trained `--pretrain-epochs` on
`--pretrain-images` (Deep Defense fine-tunes a trained classifier, and how
many DeepFool iterations a sample needs depends on it). Deep Defense
unrolls `--deepfool-steps` DeepFool iterations of `num_candidates - 1`
input gradients each, on the rows not yet across, and back-propagates
through them (second-order); one row per `--num-candidates` value and
`--second-order-steps` value ("all": the exact gradient; an int n: only the
first n iterations' boundary normals carry gradient, an approximation, see
`DeepDefense(second_order_steps=...)`).
Run by hand:

    python benchmarks/deep_defense_speed.py --model small_cnn --filters 16 --num-candidates 10 3 2 \
        --output benchmarks/results/deep_defense_speed_small_cnn.json
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tfdefend import data, models
from tfdefend.training import AdversarialTraining, DeepDefense, compile_classifier
from tfdefend.utils import atomic_write_text


def _median_seconds(steps, warmup, repeats):
    """`{name: median seconds}` of the callables in `steps`, timed in turns."""
    for _ in range(warmup):
        for step in steps.values():
            step()
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


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
    parser.add_argument("--num-candidates", type=int, nargs="+", default=[10, 2])
    parser.add_argument("--second-order-steps", nargs="+", default=["all"],
                        help='"all" (exact) or ints: DeepDefense(second_order_steps=...) per row')
    parser.add_argument("--pretrain-epochs", type=int, default=1)
    parser.add_argument("--pretrain-images", type=int, default=10000)
    parser.add_argument("--pgd-steps", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--output", default="benchmarks/results/deep_defense_speed.json")
    args = parser.parse_args(argv)

    spec = data.dataset_info(args.dataset)
    x_pre, y_pre = data.load(args.dataset, "train", as_numpy=True, limit=args.pretrain_images)
    x, y = x_pre[:args.batch_size], y_pre[:args.batch_size]
    keras.utils.set_random_seed(0)
    options = {} if args.filters is None else {"filters": args.filters}
    base = models.create_model(args.model, input_shape=spec.image_shape, num_classes=spec.num_classes,
                               **options)
    if args.pretrain_epochs:
        compile_classifier(base, learning_rate=1e-3).fit(x_pre, y_pre, epochs=args.pretrain_epochs,
                                                         batch_size=128, verbose=0)

    pgd_name = f"pgd{args.pgd_steps}_at"
    trainers = {"plain": compile_classifier(_copy(base), learning_rate=5e-4),
                pgd_name: AdversarialTraining(_copy(base), attack="pgd", eps=spec.attack_eps,
                                              steps=args.pgd_steps, ratio=1.0, seed=0)}
    deep_defense = {}
    for k in args.num_candidates:
        for n in args.second_order_steps:
            n = None if n == "all" else int(n)
            deep_defense[f"deep_defense_k{k}" + ("" if n is None else f"_so{n}")] = (k, n)
    for name, (k, n) in deep_defense.items():
        trainers[name] = DeepDefense(_copy(base), deepfool_steps=args.deepfool_steps, num_candidates=k,
                                     second_order_steps=n)
    for name, trainer in trainers.items():
        if name != "plain":
            trainer.compile(optimizer=keras.optimizers.Adam(5e-4))
    seconds = _median_seconds({name: (lambda t=trainer: t.train_on_batch(x, y))
                               for name, trainer in trainers.items()}, args.warmup, args.repeats)
    for name, value in seconds.items():
        print(f"{name:>16}: {1000 * value:8.1f} ms / step")
    ratios = {f"{name}_over_plain": seconds[name] / seconds["plain"] for name in seconds if name != "plain"}
    for name in deep_defense:
        ratios[f"{name}_over_{pgd_name}"] = seconds[name] / seconds[pgd_name]
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}x")
    result = {
        "dataset": args.dataset, "model": args.model, "filters": args.filters, "batch_size": args.batch_size,
        "deepfool_steps": args.deepfool_steps, "num_candidates": args.num_candidates,
        "second_order_steps": args.second_order_steps,
        "pgd_steps": args.pgd_steps, "repeats": args.repeats, "pretrain_epochs": args.pretrain_epochs,
        "pretrain_images": args.pretrain_images,
        "seconds_per_step": {k: round(v, 5) for k, v in seconds.items()},
        "ratios": {k: round(v, 2) for k, v in ratios.items()},
        "device": (tf.config.list_physical_devices("GPU") or tf.config.list_physical_devices("CPU"))[0].name,
        "cpu_count": os.cpu_count(), "platform": platform.platform(),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__},
        "command": "python benchmarks/deep_defense_speed.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    atomic_write_text(args.output, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
