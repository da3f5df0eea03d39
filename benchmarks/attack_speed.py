"""PGD-10 L-inf throughput of `tfdefend.attacks.pgd` vs the raw gradient limit.

The limit is 10 chained forward+backward passes of the cross-entropy w.r.t.
the input batch inside one `tf.function` (what any PGD-10 must at least do).
ART / foolbox / cleverhans PGD are timed on the same model and batch when
importable, and skipped otherwise. Run by hand:

    python benchmarks/attack_speed.py --repeats 5 --output benchmarks/results/attack_speed.json
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

from tfdefend.utils import atomic_write_text

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attack_matrix_runners import limit_runner  # noqa: E402 - the benchmarks' shared raw limit

EPS, STEP, STEPS, BATCH, SHAPE = 8 / 255, 2 / 255, 10, 256, (32, 32, 3)


def _median_time(fn, repeats):
    fn()  # warm-up (tracing / graph building)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _art(model, x, y):
    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import TensorFlowV2Classifier

    clf = TensorFlowV2Classifier(model=model, nb_classes=10, input_shape=SHAPE, clip_values=(0.0, 1.0),
                                 loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    attack = ProjectedGradientDescent(clf, norm=np.inf, eps=EPS, eps_step=STEP, max_iter=STEPS,
                                      num_random_init=0, batch_size=BATCH, verbose=False)
    return lambda: attack.generate(x, y=y)


def _foolbox(model, x, y):
    import foolbox as fb

    fmodel = fb.TensorFlowModel(model, bounds=(0.0, 1.0))
    attack = fb.attacks.LinfPGD(abs_stepsize=STEP, steps=STEPS, random_start=False)
    xt, yt = tf.constant(x), tf.constant(y.astype(np.int64))
    return lambda: attack(fmodel, xt, yt, epsilons=EPS)[1].numpy()


def _cleverhans(model, x, y):
    from cleverhans.tf2.attacks.projected_gradient_descent import projected_gradient_descent

    xt, yt = tf.constant(x), tf.constant(y)
    return lambda: projected_gradient_descent(model, xt, EPS, STEP, STEPS, np.inf, y=yt,
                                              rand_init=False, sanity_checks=False).numpy()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="benchmarks/results/attack_speed.json")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    import keras

    from tfdefend.attacks import pgd
    from tfdefend.models import create_model

    keras.utils.set_random_seed(0)
    model = create_model("small_cnn", input_shape=SHAPE, num_classes=10)
    x = np.random.default_rng(0).uniform(0, 1, size=(BATCH, *SHAPE)).astype(np.float32)
    y = np.argmax(model(x, training=False), axis=1).astype(np.int32)

    t_limit = _median_time(limit_runner(model, x, y, STEPS), args.repeats)
    rows = [("raw limit (10 x fwd+bwd)", t_limit)]
    rows.append(("tfdefend.attacks.pgd", _median_time(
        lambda: pgd(model, x, y, eps=EPS, step_size=STEP, steps=STEPS), args.repeats)))
    skipped = {}
    for name, make in (("ART", _art), ("foolbox", _foolbox), ("cleverhans", _cleverhans)):
        try:
            rows.append((f"{name} PGD", _median_time(make(model, x, y), args.repeats)))
        except Exception as err:  # noqa: BLE001 - not installed or incompatible: report and go on
            skipped[name] = f"{type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''}"

    print(f"PGD-10 L-inf, {BATCH} images {SHAPE}, small_cnn, median of {args.repeats} "
          f"(TF {tf.__version__}, {os.cpu_count()} CPUs)")
    print(f"{'method':<28}{'seconds':>10}{'images/s':>12}{'vs limit':>10}")
    results = []
    for name, seconds in rows:
        ratio = t_limit / seconds
        print(f"{name:<28}{seconds:>10.4f}{BATCH / seconds:>12.1f}{ratio:>10.3f}")
        results.append({"method": name, "seconds": seconds, "images_per_s": BATCH / seconds,
                        "ratio_to_limit": ratio})
    for name, why in skipped.items():
        print(f"{name + ' PGD':<28} skipped ({why})")
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    atomic_write_text(args.output, json.dumps(
        {"batch": BATCH, "shape": SHAPE, "eps": EPS, "step_size": STEP, "steps": STEPS,
         "repeats": args.repeats, "tensorflow": tf.__version__, "python": sys.version.split()[0],
         "machine": platform.machine(), "cpus": os.cpu_count(), "results": results,
         "skipped": skipped}, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
