"""AutoAttack in TensorFlow vs ART 1.20 on the same Keras model and images: speed and strength.

On the zoo's PGD-AT classifier (Fashion-MNIST, L-inf eps 0.1) and the first
N test images, in one run (ratios, not absolute times, are the figures):

* raw limit: 100 chained forward+backward passes of the cross-entropy on
  the batch (what any 100-step attack must at least do), timed as 10 passes
  unrolled in one `tf.function` and scaled by 10 (results before issue 25
  timed a `tf.range` loop of 100, which oneDNN may run slower: see
  `onednn_while_loop.py`);
* tfdefend APGD-CE (100 steps) and ART's `AutoProjectedGradientDescent`
  (cross-entropy, 100 steps, one random start);
* tfdefend `auto_attack(version="standard")` and ART's `AutoAttack` with
  its default ensemble (APGD-CE, APGD-DLR, DeepFool, Square), robust
  accuracy and seconds.

Run by hand (ART is in the `bench` extra):

    python benchmarks/autoattack_speed.py --n-examples 1000 --output benchmarks/results/autoattack_speed.json
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import tensorflow as tf

from tfdefend import attacks, data
from tfdefend.models import load_pretrained
from tfdefend.utils import atomic_write_text

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attack_matrix_runners import limit_runner  # noqa: E402 - the benchmarks' shared raw limit

MODEL, EPS, STEPS = "small_cnn_f16_pgd_at_fashion_mnist", 0.1, 100


def _accuracy(model, x, y):
    return float(np.mean(np.argmax(model.predict(x, batch_size=500, verbose=0), 1) == y))


def _limit(model, x, y):
    """The raw limit of `STEPS` passes: 10 chained passes unrolled in one graph, timed and scaled (exact: chained)."""
    run = limit_runner(model, x, y, 10)
    run()  # traces
    _, seconds = _timed(run)
    return None, seconds * STEPS / 10


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _art_classifier(model, shape):
    import keras
    from art.estimators.classification import TensorFlowV2Classifier

    return TensorFlowV2Classifier(model=model, nb_classes=10, input_shape=shape, clip_values=(0.0, 1.0),
                                  loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-examples", type=int, default=1000, help="first N test images (default 1000)")
    parser.add_argument("--queries", type=int, default=5000, help="Square queries (default 5000)")
    parser.add_argument("--skip-art-ensemble", action="store_true", help="skip ART's AutoAttack (slow)")
    parser.add_argument("--output", default="benchmarks/results/autoattack_speed.json")
    args = parser.parse_args(argv)

    model = load_pretrained(MODEL)
    x, y = data.load("fashion_mnist", "test", as_numpy=True, limit=args.n_examples)
    results = {"model": MODEL, "eps": EPS, "norm": "inf", "steps": STEPS, "n": len(y), "queries": args.queries,
               "tensorflow": tf.__version__, "python": platform.python_version(),
               "clean_accuracy": _accuracy(model, x, y)}
    attacks.apgd(model, x[:4], y[:4], eps=EPS, steps=2, seed=0)  # trace once
    _, results["limit_seconds"] = _limit(model, x, y)
    x_ours, results["apgd_ce_seconds"] = _timed(lambda: attacks.apgd(model, x, y, eps=EPS, steps=STEPS, seed=0))
    results["apgd_ce_robust_accuracy"] = _accuracy(model, x_ours, y)
    results["apgd_ce_ratio_to_limit"] = results["limit_seconds"] / results["apgd_ce_seconds"]
    print(f"limit {results['limit_seconds']:.1f}s  tfdefend APGD-CE {results['apgd_ce_seconds']:.1f}s "
          f"({results['apgd_ce_ratio_to_limit']:.2f} of the limit), robust {results['apgd_ce_robust_accuracy']:.3f}",
          flush=True)

    from art.attacks.evasion import AutoAttack, AutoProjectedGradientDescent

    clf = _art_classifier(model, x.shape[1:])
    art_apgd = AutoProjectedGradientDescent(clf, norm=np.inf, eps=EPS, eps_step=2 * EPS, max_iter=STEPS,
                                            nb_random_init=1, batch_size=500, loss_type="cross_entropy",
                                            verbose=False)
    x_art, results["art_apgd_ce_seconds"] = _timed(lambda: art_apgd.generate(x, y=y))
    results["art_apgd_ce_robust_accuracy"] = _accuracy(model, x_art, y)
    results["apgd_ce_speedup_vs_art"] = results["art_apgd_ce_seconds"] / results["apgd_ce_seconds"]
    print(f"ART APGD-CE {results['art_apgd_ce_seconds']:.1f}s, robust {results['art_apgd_ce_robust_accuracy']:.3f}",
          flush=True)

    (_, report), results["auto_attack_seconds"] = _timed(
        lambda: attacks.auto_attack(model, x, y, eps=EPS, queries=args.queries, seed=0))
    results["auto_attack"] = report
    print(f"tfdefend AutoAttack {results['auto_attack_seconds']:.1f}s, robust {report['robust_accuracy']:.3f}",
          flush=True)
    if not args.skip_art_ensemble:
        ensemble = AutoAttack(clf, norm=np.inf, eps=EPS, eps_step=2 * EPS, batch_size=500)
        x_ens, results["art_auto_attack_seconds"] = _timed(lambda: ensemble.generate(x, y=y))
        results["art_auto_attack_robust_accuracy"] = _accuracy(model, x_ens, y)
        results["auto_attack_speedup_vs_art"] = results["art_auto_attack_seconds"] / results["auto_attack_seconds"]
        print(f"ART AutoAttack {results['art_auto_attack_seconds']:.1f}s, robust "
              f"{results['art_auto_attack_robust_accuracy']:.3f}", flush=True)
    atomic_write_text(args.output, json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
