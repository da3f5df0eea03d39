"""Per-call overhead of the gradient attacks at batch 1 (the serving and app case), beyond their compiled graphs.

For FGSM, PGD-10 (L-inf, L2) and MI-FGSM on one 32x32x3 image through the
issue's Keras `Sequential` CNN: the median time of the user's call (NumPy in,
labels given, NumPy out) minus the median time of the same attack's cached
compiled kernel called on ready tensors (its unrolled chunks included). The
difference is what a call adds: argument and image checks, conversions, the
cache lookup and the result's conversion. Calls are interleaved round-robin.

    python benchmarks/call_overhead.py --output benchmarks/results/call_overhead.json
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from attack_matrix import build_model  # noqa: E402 - the benchmark's own helper module

EPS, STEP, L2, L2_STEP = 8 / 255, 2 / 255, 0.5, 0.125
# name: (user call, kernel options (norm, targeted, random start, momentum), eps, step, steps, decay)
ATTACKS = {
    "fgsm": (lambda A, m, x, y: A.fgsm(m, x, y, eps=EPS), ("inf", False, False, False), EPS, EPS, 1, 0.0),
    "pgd_linf": (lambda A, m, x, y: A.pgd(m, x, y, eps=EPS, step_size=STEP, steps=10),
                 ("inf", False, False, False), EPS, STEP, 10, 0.0),
    "pgd_l2": (lambda A, m, x, y: A.pgd(m, x, y, eps=L2, step_size=L2_STEP, steps=10, norm="l2"),
               ("l2", False, False, False), L2, L2_STEP, 10, 0.0),
    "mifgsm": (lambda A, m, x, y: A.mifgsm(m, x, y, eps=EPS, steps=10, decay=1.0),
               ("inf", False, False, True), EPS, EPS / 10, 10, 1.0),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--output", default="benchmarks/results/call_overhead.json")
    args = parser.parse_args(argv)
    import tensorflow as tf

    from tfdefend import attacks as A
    from tfdefend.attacks import _core
    from tfdefend.utils import atomic_write_text

    model = build_model("sequential", (32, 32, 3))
    x = np.random.default_rng(0).uniform(0, 1, (1, 32, 32, 3)).astype(np.float32)
    y = np.argmax(model(x, training=False), axis=1).astype(np.int32)
    xt, yt = tf.constant(x), tf.constant(y)
    runners = {}
    for name, (call, static, eps, step, steps, decay) in ATTACKS.items():
        call(A, model, x, y)  # traces and caches the kernel
        kernel = _core.compiled(model, "iterative", static, _core._build_iterative)
        args_t = (xt, yt, _core.f32(eps), _core.f32(step), steps, _core.f32(decay), _core.f32(0.0), _core.f32(1.0),
                  None)
        runners[name] = (lambda c=call: c(A, model, x, y), lambda k=kernel, a=args_t: k(*a).numpy())
    times = {name: ([], []) for name in runners}
    for _ in range(args.repeats):
        for name, pair in runners.items():
            for slot, fn in enumerate(pair):
                start = time.perf_counter()
                fn()
                times[name][slot].append(time.perf_counter() - start)
    rows = {}
    print(f"{'attack':<10}{'call ms':>10}{'kernel ms':>11}{'overhead ms':>13}")
    for name, (call_t, kernel_t) in times.items():
        call_ms, kernel_ms = 1e3 * statistics.median(call_t), 1e3 * statistics.median(kernel_t)
        rows[name] = {"call_ms": call_ms, "kernel_ms": kernel_ms, "overhead_ms": call_ms - kernel_ms}
        print(f"{name:<10}{call_ms:>10.3f}{kernel_ms:>11.3f}{call_ms - kernel_ms:>13.3f}")
    atomic_write_text(args.output, json.dumps({"batch": 1, "shape": [32, 32, 3], "model": "sequential",
                                               "repeats": args.repeats, "tensorflow": tf.__version__,
                                               "cpus": os.cpu_count(), "rows": rows}, indent=1))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
