"""Why a PGD in a `tf.while_loop` loses a third of its speed in some processes: oneDNN's MaxPoolGrad rewrite.

Each trial is a fresh Python process (as each notebook is) that builds the
issue's Keras `Sequential` CNN (conv 32, pool, conv 64, pool, dense 128,
dense 10) on 32x32x3 and times three PGD-10-shaped loops of forward+backward
passes on one batch, round-robin, best of `--repeats`:

* `while`: the steps in a `for _ in tf.range(steps)` loop (a `tf.while_loop`),
  as tfdefend's kernels were written before issue 25;
* `unrolled`: the same ten steps unrolled in one `tf.function` (the raw limit);
* `tfdefend`: `tfdefend.attacks.pgd` now (unrolled compiled chunks of 8 + 2 steps).

It also records, with the TF profiler, which kernel ran each `MaxPoolGrad` of
the while loop: `_MklNativeMaxPoolGrad` (oneDNN) or plain `MaxPoolGrad`
(Eigen's, tens of times slower on this CPU). The oneDNN layout pass rewrites
it only in some processes; straight-line graphs are rewritten every time.

    python benchmarks/onednn_while_loop.py --trials 6 --output benchmarks/results/onednn_while_loop.json
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

TRIAL = r'''
import glob, json, sys, time
import numpy as np, tensorflow as tf, keras
from tensorflow.tsl.profiler.protobuf import xplane_pb2
from tfdefend.attacks import pgd
batch, repeats, logdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
keras.utils.set_random_seed(0)
L = keras.layers
model = keras.Sequential([keras.Input((32, 32, 3)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
                          L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(),
                          L.Dense(128, activation="relu"), L.Dense(10)])
x = np.random.default_rng(0).uniform(0, 1, (batch, 32, 32, 3)).astype(np.float32)
y = np.argmax(model(x), 1).astype(np.int32)
xt, yt = tf.constant(x), tf.constant(y)

def step(x, y):
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=model(x)))
    return tf.clip_by_value(x + 2 / 255 * tf.sign(tape.gradient(loss, x)), 0.0, 1.0)

@tf.function
def unrolled(x, y):
    for _ in range(10):
        x = step(x, y)
    return x

@tf.function
def while_loop(x, y, steps):  # what AutoGraph makes of `for _ in tf.range(steps)`
    return tf.while_loop(lambda i, x: i < steps, lambda i, x: (i + 1, step(x, y)), (tf.constant(0), x))[1]

runs = {"while": lambda: while_loop(xt, yt, tf.constant(10)).numpy(), "unrolled": lambda: unrolled(xt, yt).numpy(),
        "tfdefend": lambda: pgd(model, x, y, eps=8 / 255, step_size=2 / 255, steps=10)}
for fn in runs.values():
    fn(); fn()
best = {k: float("inf") for k in runs}
for _ in range(repeats):
    for k, fn in runs.items():
        t = time.perf_counter(); fn(); best[k] = min(best[k], time.perf_counter() - t)
tf.profiler.experimental.start(logdir)
runs["while"]()
tf.profiler.experimental.stop()
space = xplane_pb2.XSpace()
space.ParseFromString(open(sorted(glob.glob(logdir + "/**/*.xplane.pb", recursive=True))[-1], "rb").read())
kernels = set()
for plane in space.planes:
    names = {k: v.name for k, v in plane.event_metadata.items()}
    for line in plane.lines:
        for event in line.events:
            name = names.get(event.metadata_id, "")
            if "MaxPoolGrad" in name:
                kernels.add(name.split(":")[-1])
print("RESULT " + json.dumps({"seconds": best, "maxpoolgrad_kernels": sorted(kernels)}))
'''


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6, help="fresh processes")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", default="benchmarks/results/onednn_while_loop.json")
    args = parser.parse_args(argv)
    from tfdefend.utils import atomic_write_text

    trials = []
    for trial in range(args.trials):
        with tempfile.TemporaryDirectory() as logdir:
            done = subprocess.run([sys.executable, "-c", TRIAL, str(args.batch), str(args.repeats), logdir],
                                  capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"trial {trial} failed: {done.stderr[-3000:]}")
        line = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")][-1]
        result = json.loads(line[len("RESULT "):])
        s = result["seconds"]
        result["ratios_to_unrolled"] = {k: s["unrolled"] / v for k, v in s.items()}
        result["while_rewritten"] = result["maxpoolgrad_kernels"] == ["_MklNativeMaxPoolGrad"]
        trials.append(result)
        r = result["ratios_to_unrolled"]
        print(f"trial {trial}: while {s['while']:.3f}s ({r['while']:.2f}x), unrolled {s['unrolled']:.3f}s, "
              f"tfdefend {s['tfdefend']:.3f}s ({r['tfdefend']:.2f}x); while-loop MaxPoolGrad kernels "
              f"{result['maxpoolgrad_kernels']}", flush=True)
    summary = {"trials": len(trials), "while_rewritten": sum(t["while_rewritten"] for t in trials)}
    for key in ("while", "tfdefend"):
        for group, rewritten in (("rewritten", True), ("not_rewritten", False)):
            values = [t["ratios_to_unrolled"][key] for t in trials if t["while_rewritten"] == rewritten]
            summary[f"{key}_vs_unrolled_{group}"] = (min(values), max(values)) if values else None
    print(json.dumps(summary))
    import tensorflow as tf

    atomic_write_text(args.output, json.dumps({"batch": args.batch, "repeats": args.repeats, "tensorflow": tf.__version__,
                                               "cpus": os.cpu_count(), "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
                                               "summary": summary, "trials": trials}, indent=1))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
