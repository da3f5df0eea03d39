"""Streaming evaluation at scale: `robustness_table` over 1k, 10k and 70k Fashion-MNIST images.

For each size n, a fresh subprocess loads the zoo classifier
(`default_pretrained("fashion_mnist")`), streams the first n images of
`data.load("fashion_mnist", "all")` (the 60k train images, then the 10k
test images, read record by record from the idx files and scaled to float32
one batch at a time) and runs `robustness_table` with the chosen attacks
(L-inf, eps = the data set's `attack_eps`; `--attacks` takes the registry
names that `attack_suite` builds, the iterative ones with `--pgd-steps`
steps). Each worker reports:

- seconds: wall time of the timed `robustness_table` call (after a warm-up
  call on one batch, so tracing the attack is not part of it);
- RSS (resident memory) after TF init + model load ("start"), after the
  warm-up ("warm"), the maximum sampled every 20 ms during the timed call,
  and `ru_maxrss` (the process's peak) at the end;
- max RSS - warm: the highest sample minus the RSS after the warm-up: one
  batch's working set (activations and gradients of the attack) plus the
  allocator's slack, which should not depend on n;
- median RSS during the call, and drift: the mean RSS over the last tenth of
  the samples minus the first tenth (a leak or a growing buffer shows as a
  drift that grows with n; allocator noise is tens of MB either way).

Time should grow linearly in n and memory stay flat. `--source arrays`
builds the float32 NumPy arrays of the n images first (the non-streaming
way) for contrast. Run by hand:

    python benchmarks/streaming_eval.py --sizes 1000 10000 70000 --attacks fgsm \
        --output benchmarks/results/streaming_eval.json
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time


def _rss_mb():
    """Current resident set size in MB (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except (OSError, ValueError, IndexError):
        return None


def _peak_mb():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2 ** 20 if sys.platform == "darwin" else peak / 2 ** 10  # bytes on macOS, KiB on Linux


class _Sampler(threading.Thread):
    """Samples the RSS every `interval` seconds until stopped (a float per sample: ~100 KB per hour)."""

    def __init__(self, interval=0.02):
        super().__init__(daemon=True)
        self.interval, self.samples, self._stop_event = interval, [], threading.Event()

    def run(self):
        while not self._stop_event.wait(self.interval):
            self.samples.append(_rss_mb() or 0.0)

    def stop(self):
        self._stop_event.set()
        self.join()
        self.samples.append(_rss_mb() or 0.0)

    def summary(self):
        """max, median, and drift: mean of the last tenth of the samples minus mean of the first tenth."""
        values = sorted(self.samples)
        tenth = max(1, len(self.samples) // 10)
        drift = sum(self.samples[-tenth:]) / tenth - sum(self.samples[:tenth]) / tenth
        return values[-1], values[len(values) // 2], drift


def worker(n, batch_size, attack_names, source, pgd_steps=3):
    """Runs one size in this process; returns the measurement dict."""
    from tfdefend import data, models
    from tfdefend.evaluation import attack_suite, robustness_table

    model = models.load_pretrained(models.default_pretrained("fashion_mnist"))
    eps = data.dataset_info("fashion_mnist").attack_eps
    attacks = attack_suite([eps], pgd_steps=pgd_steps, include=tuple(attack_names))
    rss_start = _rss_mb()
    robustness_table(model, data.load("fashion_mnist", "all", batch_size=batch_size, limit=batch_size),
                     attacks, batch_size=batch_size)  # warm-up: traces the model and the attacks
    rss_warm = _rss_mb()
    sampler = _Sampler()
    sampler.start()
    start = time.perf_counter()
    if source == "arrays":
        stream = data.load("fashion_mnist", "all", as_numpy=True, limit=n)
    else:
        stream = data.load("fashion_mnist", "all", batch_size=batch_size, limit=n)
    rows = robustness_table(model, stream, attacks, batch_size=batch_size)
    seconds = time.perf_counter() - start
    sampler.stop()
    rss_max, rss_median, drift = sampler.summary()
    return {"n": rows[0]["n"], "seconds": seconds, "rss_start_mb": rss_start, "rss_warm_mb": rss_warm,
            "rss_max_during_eval_mb": rss_max, "rss_median_during_eval_mb": rss_median,
            "rss_drift_mb": drift, "rss_samples": len(sampler.samples), "peak_rss_mb": _peak_mb(),
            "growth_mb": rss_max - rss_warm if rss_warm is not None else None, "rows": rows}


def _format(results, attack_rows):
    lines = ["| n | seconds | s / 1k images | peak RSS (MB) | max RSS - warm (MB) | median RSS (MB) | "
             "drift (MB) | " + " | ".join(f"{name} acc." for name in attack_rows) + " |",
             "|" + "---|" * (7 + len(attack_rows))]
    for r in results:
        accs = {row["attack"]: row["accuracy"] for row in r["rows"]}
        cells = [f"{r['n']:,}", f"{r['seconds']:.1f}", f"{1000 * r['seconds'] / r['n']:.2f}",
                 f"{r['peak_rss_mb']:.0f}", f"{r['growth_mb']:+.0f}" if r["growth_mb"] is not None else "n/a",
                 f"{r['rss_median_during_eval_mb']:.0f}", f"{r['rss_drift_mb']:+.0f}"]
        cells += [f"{100 * accs[name]:.1f}%" for name in attack_rows]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def build_parser():
    """The options; `--attacks` takes the registry names `attack_suite` builds (help and errors list them)."""
    from tfdefend.evaluation.attack_suite import SUITE_ATTACKS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 70000])
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--attacks", nargs="+", choices=sorted(SUITE_ATTACKS), default=["fgsm"],
                        help="attacks of the registry (tfdefend.attacks.list_attacks()) that attack_suite "
                        "builds: %(choices)s (default: fgsm)")
    parser.add_argument("--pgd-steps", type=int, default=3, help="steps of bim, mifgsm and pgd (default 3)")
    parser.add_argument("--source", choices=("stream", "arrays"), default="stream",
                        help="stream: tf.data from the idx files (default); arrays: float32 NumPy first")
    parser.add_argument("--output", default="benchmarks/results/streaming_eval.json")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.sizes) or args.batch_size < 1 or args.pgd_steps < 1:
        parser.error("--sizes, --batch-size and --pgd-steps must be >= 1")
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.batch_size, args.attacks, args.source, args.pgd_steps)))
        return
    results = []
    for n in args.sizes:
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(n), "--batch-size",
               str(args.batch_size), "--source", args.source, "--pgd-steps", str(args.pgd_steps),
               "--attacks", *args.attacks]
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"worker for n={n} failed:\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["load_average_before"] = load_before
        results.append(result)
        print(f"n={n:,}: {result['seconds']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB, "
              f"growth {result['growth_mb']:+.1f} MB", flush=True)
    attack_rows = [row["attack"] for row in results[0]["rows"]]
    table = _format(results, attack_rows)
    print(f"\n## robustness_table on Fashion-MNIST ({args.source}, batch {args.batch_size})\n\n{table}")
    from tfdefend.utils import atomic_write_text

    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    meta = {"sizes": args.sizes, "batch_size": args.batch_size, "attacks": args.attacks,
            "pgd_steps": args.pgd_steps, "source": args.source,
            "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    atomic_write_text(args.output, json.dumps({"config": meta, "results": results, "table": table},
                                              indent=2) + "\n")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
