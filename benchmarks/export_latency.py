"""Deployment figures of every zoo classifier and preprocessor: size, FLOPs, TFLite and Keras latency.

For each `list_pretrained()` entry of kind classifier or preprocessor (other
kinds, e.g. the GNR generator, are skipped): parameters; FLOPs per image;
the Keras latency (the model called inside a `tf.function`, batch 1); and
for the float32 and the int8 (uint8 in/out, calibrated on 200 training
images) `.tflite` export: file size, LiteRT latency (batch 1) with 1 and 2
threads on LiteRT's default CPU path (the XNNPACK delegate) and with 1
thread on the builtin reference kernels (no XNNPACK, the fallback of
runtimes built without it), and, for classifiers, the top-1 agreement of the
`.tflite` with the Keras model on up to 200 test images (preprocessors: mean
absolute difference of the output images). Latencies are the median of
`--repeats` timed runs after 10 warm-up runs; float and int8 are timed in
alternation (one float run, one int8 run, ...) so that noise from other
processes on the machine hits both alike and their ratio is fair. A model
that cannot be exported gets a row saying why.

FLOPs are counted by TensorFlow's profiler
(`tf.compat.v1.profiler.profile(graph, ProfileOptionBuilder.float_operation())`)
on the batch-1 graph of `model(x, training=False)`: a multiply-add counts as
2 FLOPs, bias additions and elementwise arithmetic count, and ops without
registered FLOP statistics (pooling, ReLU, JPEG coding) count 0.

Usage (from the repository root):
    python benchmarks/export_latency.py [--repeats 200] [--only NAME ...]
        [--output benchmarks/results/export_latency.json]

Prints a Markdown table and writes the JSON (atomically) that the model cards
(`tfdefend zoo card NAME`, `scripts/write_model_cards.py`) read.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from tfdefend import data, models
from tfdefend.evaluation import FLOPS_METHOD, count_flops
from tfdefend.export import export_tflite
from tfdefend.utils import atomic_write_text

WARMUP = 10
AGREEMENT_IMAGES = 200
# (JSON key, threads, XNNPACK delegate): LiteRT's default CPU path (XNNPACK) and its reference kernels.
TIMING_SETTINGS = (("ms_1_thread", 1, True), ("ms_2_threads", 2, True), ("ms_1_thread_no_xnnpack", 1, False))


def _median_ms(fn, repeats):
    return _interleaved_median_ms({"only": fn}, repeats)["only"]


def _interleaved_median_ms(fns, repeats):
    """Median ms of each callable in `fns`, timed in alternation so machine noise hits all alike."""
    for fn in fns.values():
        for _ in range(WARMUP):
            fn()
    times = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return {key: 1000 * statistics.median(values) for key, values in times.items()}


def _keras_ms(model, x, repeats):
    fn = tf.function(lambda x: model(x, training=False))
    x = tf.constant(x)
    return _median_ms(lambda: fn(x).numpy(), repeats)


class _Runner:
    """A LiteRT interpreter on one `.tflite`: float images in, float outputs out (quantizing if uint8)."""

    def __init__(self, path, threads, xnnpack=True):
        resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        self.interpreter = Interpreter(model_path=path, num_threads=threads,
                                       experimental_op_resolver_type=resolver)
        self.runner = self.interpreter.get_signature_runner("serving_default")
        self.input = self.runner.get_input_details()["images"]
        self.outputs = self.runner.get_output_details()

    def quantize(self, x):
        if self.input["dtype"] != np.uint8:
            return x.astype(np.float32)
        scale, zero = self.input["quantization"]
        return np.clip(np.round(x / scale) + zero, 0, 255).astype(np.uint8)

    def __call__(self, x_ready):
        return self.runner(images=x_ready)

    def first_output(self, x):
        key = "logits" if "logits" in self.outputs else "images"
        value = self(self.quantize(x))[key]
        if self.outputs[key]["dtype"] == np.uint8:
            scale, zero = self.outputs[key]["quantization"]
            value = (value.astype(np.float32) - zero) * scale
        return value


def _tflite_row(model, kind, path, quantization, calibration, x_test, keras_pred, repeats):
    try:
        export_tflite(model, path, quantization=quantization, representative_data=calibration)
    except ValueError as exc:
        return {"error": str(exc)}
    info = {"size_bytes": os.path.getsize(path)}
    if kind == "classifier":
        runner = _Runner(path, 1)
        pred = np.array([np.argmax(runner.first_output(x[None])) for x in x_test])
        info["top1_agreement_with_keras"] = float(np.mean(pred == keras_pred))
    else:
        runner = _Runner(path, 1)
        out = np.concatenate([runner.first_output(x[None]) for x in x_test[:20]])
        reference = np.asarray(model(x_test[:20], training=False))
        info["mean_abs_diff_to_keras"] = float(np.mean(np.abs(out - reference)))
    return info


def _time_variants(paths, x, repeats):
    """LiteRT latencies of the exported variants, float and int8 timed in alternation per setting."""
    latencies = {variant: {} for variant in paths}
    for key, threads, xnnpack in TIMING_SETTINGS:
        fns = {}
        for variant, path in paths.items():
            runner = _Runner(path, threads, xnnpack)
            ready = runner.quantize(x)
            fns[variant] = lambda runner=runner, ready=ready: runner(ready)
        for variant, ms in _interleaved_median_ms(fns, repeats).items():
            latencies[variant][key] = ms
    return latencies


def benchmark(name, repeats, workdir):
    entry = models.pretrained_info(name)
    model = models.load_pretrained(name)
    kind = entry.get("kind", "classifier")
    shape = tuple(model.input_shape[1:])
    x_test, _ = data.load(entry["dataset"], "test", as_numpy=True, limit=AGREEMENT_IMAGES)
    calibration, _ = data.load(entry["dataset"], "train", as_numpy=True, limit=200)
    keras_pred = None
    if kind == "classifier":
        keras_pred = np.argmax(np.asarray(model(x_test, training=False)), axis=1)
    row = {"kind": kind, "dataset": entry["dataset"], "input_shape": list(shape),
           "params": int(model.count_params()), "flops_per_image": count_flops(model, shape),
           "keras_ms": _keras_ms(model, x_test[:1], repeats), "tflite": {}}
    paths = {}
    for variant, quantization in (("float", None), ("int8", "int8")):
        path = os.path.join(workdir, f"{name}_{variant}.tflite")
        row["tflite"][variant] = _tflite_row(model, kind, path, quantization,
                                             calibration if quantization == "int8" else None,
                                             x_test, keras_pred, repeats)
        if "error" not in row["tflite"][variant]:
            paths[variant] = path
    for variant, latencies in _time_variants(paths, x_test[:1], repeats).items():
        row["tflite"][variant].update(latencies)
    return row


def _cell_size(info):
    return f"not exported: {info['error']}" if "error" in info else f"{info['size_bytes'] / 1024:.1f} KiB"


def _cell_ms(info, key):
    return "" if "error" in info or key not in info else f"{info[key]:.3f}"


def _cell_quality(info):
    if "error" in info:
        return ""
    if "top1_agreement_with_keras" in info:
        return f"{100 * info['top1_agreement_with_keras']:.1f}% top-1"
    return f"{info['mean_abs_diff_to_keras']:.4f} MAE"


def format_markdown(results):
    """One row per model; latencies in ms at batch 1 (XNNPACK = LiteRT's default CPU delegate)."""
    head = ("| model | kind | params | MFLOPs/img | Keras ms | float .tflite | int8 .tflite | "
            "float ms 1t | int8 ms 1t | float ms 2t | int8 ms 2t | float ms 1t no XNNPACK | "
            "int8 ms 1t no XNNPACK | float vs Keras | int8 vs Keras |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, row in results["models"].items():
        if "skipped" in row:
            lines.append(f"| {name} | {row['kind']} | skipped: {row['skipped']} |" + " |" * 12)
            continue
        float_info, int8_info = row["tflite"]["float"], row["tflite"]["int8"]
        cells = [name, row["kind"], f"{row['params']:,}", f"{row['flops_per_image'] / 1e6:.2f}",
                 f"{row['keras_ms']:.3f}", _cell_size(float_info), _cell_size(int8_info)]
        for key in ("ms_1_thread", "ms_2_threads", "ms_1_thread_no_xnnpack"):
            cells += [_cell_ms(float_info, key), _cell_ms(int8_info, key)]
        cells += [_cell_quality(float_info), _cell_quality(int8_info)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200, help="timed runs per latency (median)")
    parser.add_argument("--only", nargs="+", default=None, help="zoo entries (default: all)")
    parser.add_argument("--output", default="benchmarks/results/export_latency.json")
    args = parser.parse_args(argv)
    names = args.only or models.list_pretrained()
    command = "python benchmarks/export_latency.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results = {"command": command.strip(), "repeats": args.repeats, "warmup": WARMUP,
               "flops_method": FLOPS_METHOD,
               "machine": _machine(),
               "versions": {"python": platform.python_version(), "tensorflow": tf.__version__},
               "models": {}}
    with tempfile.TemporaryDirectory(prefix="export_latency_") as workdir:
        for name in names:
            kind = models.pretrained_info(name).get("kind", "classifier")
            if kind not in ("classifier", "preprocessor"):
                results["models"][name] = {"kind": kind, "skipped": f"{kind}s are not exported"}
                continue
            start = time.perf_counter()
            results["models"][name] = benchmark(name, args.repeats, workdir)
            print(f"{name}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    print(format_markdown(results))
    atomic_write_text(args.output, json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
