"""ComDefend's training quantizer: the paper's noisy sigmoid vs the straight-through hard bits, epoch by epoch.

Trains one ComDefend per `--variants` entry (quantizer:noise_std) at the
zoo's widths on the first `--limit-train` training images, and after every
epoch measures, on the first `--limit-test` test images:

- the binarized (inference) reconstruction MSE, which should fall as
  training goes on;
- the code's RMS and how often a training-mode bit (the soft bit rounded,
  for the paper's quantizer) equals the inference bit;
- the accuracy of the zoo classifier on the reconstructions (clean) and on
  PGD-10 images crafted against the bare classifier (oblivious, L-inf
  `--eps`, the first `--limit-attack` test images).

Writes a Markdown table and JSON to `--output`. Usage:

    python benchmarks/comdefend_quantizers.py --epochs 3 --limit-train 20000 \\
        --output benchmarks/results/comdefend_quantizers.json
"""

import argparse
import json
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tfdefend import data, models
from tfdefend.attacks import pgd
from tfdefend.evaluation import accuracy
from tfdefend.training import reconstruction_error
from tfdefend.utils import atomic_write_text

WIDTHS = {"code_channels": 4, "comcnn_filters": [4, 8, 16, 32, 64, 32, 16, 8],
          "rescnn_filters": [8, 16, 32, 64, 32, 16, 8, 4]}


def bit_agreement(model, x):
    """Share of training-mode bits (soft bits rounded) equal to the inference bits."""
    code = model.encode(x)
    train_bits = np.round(np.asarray(model.binarizer(code, training=True)))
    return float(np.mean(train_bits == np.asarray(model.binarizer(code, training=False))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--variants", nargs="+", default=["noisy_sigmoid:20", "straight_through:5"],
                        help="QUANTIZER:NOISE_STD entries")
    parser.add_argument("--encoder", default="plain", choices=["plain", "residual"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit-train", type=int, default=20000)
    parser.add_argument("--limit-test", type=int, default=2000)
    parser.add_argument("--limit-attack", type=int, default=500)
    parser.add_argument("--eps", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="benchmarks/results/comdefend_quantizers.json")
    args = parser.parse_args(argv)

    spec = data.dataset_info(args.dataset)
    x_train, _ = data.load(args.dataset, "train", as_numpy=True, limit=args.limit_train)
    x_test, y_test = data.load(args.dataset, "test", as_numpy=True, limit=args.limit_test)
    classifier_name = models.default_pretrained(args.dataset)
    classifier = models.load_pretrained(classifier_name)
    n = args.limit_attack
    x_adv = np.asarray(pgd(classifier, tf.constant(x_test[:n]), tf.constant(y_test[:n]), eps=args.eps,
                           step_size=args.eps / 4, steps=10, random_start=True, seed=args.seed))
    bare = {"clean": accuracy(classifier, x_test, y_test, batch_size=500),
            "oblivious": accuracy(classifier, x_adv, y_test[:n], batch_size=500)}
    rows = []
    for text in args.variants:
        quantizer, _, noise = text.partition(":")
        keras.utils.set_random_seed(args.seed)
        model = models.ComDefend(input_shape=spec.image_shape, encoder=args.encoder, quantizer=quantizer,
                                 noise_std=float(noise), seed=args.seed, **WIDTHS)
        model.compile(optimizer="adam")
        defended = models.DefendedClassifier(model, classifier)
        for epoch in range(1, args.epochs + 1):
            start = time.perf_counter()
            history = model.fit(x_train, x_train, epochs=1, batch_size=64, verbose=0).history
            row = {"variant": text, "epoch": epoch, "train_seconds": round(time.perf_counter() - start, 1),
                   "train_loss": float(history["loss"][-1]),
                   "binarized_test_mse": reconstruction_error(model, x_test)["mse"],
                   "code_rms": float(np.sqrt(np.mean(np.square(model.encode(x_test[:n]))))),
                   "bit_agreement": bit_agreement(model, x_test[:n]),
                   "clean": accuracy(defended, x_test, y_test, batch_size=500),
                   "oblivious": accuracy(defended, x_adv, y_test[:n], batch_size=500)}
            rows.append(row)
            print(json.dumps(row), flush=True)

    bits = int(np.prod(spec.image_shape[:2])) * WIDTHS["code_channels"] * spec.image_shape[-1]
    lines = [f"Bare `{classifier_name}`: clean {100 * bare['clean']:.1f}%, PGD-10 eps {args.eps} "
             f"{100 * bare['oblivious']:.1f}%; code {bits:,} bits per image.", "",
             "| quantizer:noise | epoch | binarized test MSE | code RMS | train = inference bits | clean % "
             f"| PGD-10 {args.eps} oblivious % |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['epoch']} | {r['binarized_test_mse']:.5f} | {r['code_rms']:.2f} | "
              f"{100 * r['bit_agreement']:.1f}% | {100 * r['clean']:.1f} | {100 * r['oblivious']:.1f} |"
              for r in rows]
    print("\n".join(lines))
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    atomic_write_text(args.output, json.dumps({
        "dataset": args.dataset, "classifier": classifier_name, "encoder": args.encoder, "widths": WIDTHS,
        "code_bits_per_image": bits, "limit_train": args.limit_train, "limit_test": args.limit_test,
        "limit_attack": n, "eps": args.eps, "bare": bare, "rows": rows, "table": "\n".join(lines),
        "command": " ".join(["python benchmarks/comdefend_quantizers.py",
                             *(sys.argv[1:] if argv is None else argv)])}, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
