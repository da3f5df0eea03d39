"""Training throughput (images/s) of `fit` with 1 replica vs `MirroredStrategy` with 2 replicas.

small_cnn on Fashion-MNIST (a synthetic stand-in of the same shape if the data cannot be loaded),
same global batch. Each setting runs in its own process: 1 replica is the default strategy on one
device; 2 replicas is `tfdefend.utils.get_strategy("mirrored")` over two GPUs, or, without GPUs,
over two logical CPU devices made from the machine's CPU (which still share its cores: on a CPU-only
machine this measures the overhead of the replication, not a speed-up). After a warm-up `fit` on
`--warmup-batches` batches (tracing), each of `--epochs` epochs is timed (the number of images is
rounded down to whole batches, so no step is retraced); the table shows the median epoch and the
JSON also the fastest (the least disturbed on a shared machine). Prints a Markdown table and
writes JSON.
Run by hand:

    python benchmarks/distributed_throughput.py --output benchmarks/results/distributed_throughput.json
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

RESULT_PREFIX = "THROUGHPUT "


def _worker(args):
    """One setting (`args.replicas`), in this process; prints one JSON line."""
    import tensorflow as tf

    if args.replicas > 1 and not tf.config.list_physical_devices("GPU"):
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.replicas)
    import keras
    import numpy as np

    from tfdefend import data, models
    from tfdefend.training import compile_classifier
    from tfdefend.utils import get_strategy, set_seed

    set_seed(0, deterministic=False)
    images = max(1, args.images // args.batch_size) * args.batch_size
    try:
        x, y = data.load(args.dataset, "train", as_numpy=True, limit=images)
        source = args.dataset
    except Exception as exc:  # noqa: BLE001 - offline machine: same shapes, synthetic pixels
        rng = np.random.default_rng(0)
        x, y = rng.uniform(size=(images, 28, 28, 1)).astype("float32"), rng.integers(0, 10, images)
        source = f"synthetic 28x28x1 ({type(exc).__name__} loading {args.dataset})"
    strategy = get_strategy("default" if args.replicas == 1 else "mirrored")
    with strategy.scope():
        net = models.create_model("small_cnn", input_shape=tuple(x.shape[1:]), num_classes=10)
        compile_classifier(net, learning_rate=1e-3)
    warmup = args.warmup_batches * args.batch_size
    net.fit(x[:warmup], y[:warmup], batch_size=args.batch_size, epochs=1, verbose=0)  # traces the step
    times = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    net.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, shuffle=True, verbose=0,
            callbacks=[EpochTimer()])
    print(RESULT_PREFIX + json.dumps({
        "replicas": int(strategy.num_replicas_in_sync), "strategy": type(strategy).__name__,
        "devices": [d.name for d in tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")],
        "images": len(x), "data": source, "epoch_seconds": [round(t, 3) for t in times],
        "images_per_second": round(len(x) / float(np.median(times)), 1),
        "best_images_per_second": round(len(x) / min(times), 1),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}}))


def _run_setting(args, replicas):
    command = [sys.executable, os.path.abspath(__file__), "--worker", "--replicas", str(replicas),
               "--dataset", args.dataset, "--images", str(args.images), "--batch-size", str(args.batch_size),
               "--epochs", str(args.epochs), "--warmup-batches", str(args.warmup_batches)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the {replicas}-replica run failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(lines[-1][len(RESULT_PREFIX):])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--images", type=int, default=1024, help="training images per epoch")
    parser.add_argument("--batch-size", type=int, default=128, help="global batch size")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs")
    parser.add_argument("--warmup-batches", type=int, default=2, help="batches of the untimed warm-up fit")
    parser.add_argument("--output", default="benchmarks/results/distributed_throughput.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--replicas", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0

    runs = [_run_setting(args, replicas) for replicas in (1, 2)]
    ratio = runs[1]["images_per_second"] / runs[0]["images_per_second"]
    best_ratio = runs[1]["best_images_per_second"] / runs[0]["best_images_per_second"]
    print(f"\nsmall_cnn `fit` throughput, {runs[0]['data']}, global batch {args.batch_size}, "
          f"{args.epochs} timed epoch(s) of {runs[0]['images']} images\n")
    print("| replicas | strategy | devices | images/s (median epoch) | images/s (best epoch) | vs 1 replica |")
    print("|---:|---|---|---:|---:|---:|")
    for run in runs:
        print(f"| {run['replicas']} | {run['strategy']} | {', '.join(d.split('device:')[-1] for d in run['devices'])} "
              f"| {run['images_per_second']:.0f} | {run['best_images_per_second']:.0f} "
              f"| {run['images_per_second'] / runs[0]['images_per_second']:.2f}x |")
    result = {"model": "small_cnn", "batch_size": args.batch_size, "runs": runs,
              "ratio_2_over_1": round(ratio, 3), "best_epoch_ratio_2_over_1": round(best_ratio, 3),
              "cpu_count": os.cpu_count(), "load_average": list(os.getloadavg()), "platform": platform.platform(),
              "command": "python benchmarks/distributed_throughput.py " + " ".join(argv or sys.argv[1:])}
    if args.output:
        from tfdefend.utils import atomic_write_text

        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        atomic_write_text(args.output, json.dumps(result, indent=2) + "\n")
        print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
