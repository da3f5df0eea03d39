"""Every figure of the pretrained zoo, re-measured on the full test split of its data set, and int8 agreement.

For each `list_pretrained()` entry, on all of `data.load(dataset, "test")`
(Fashion-MNIST and photo_patches: their official test splits; mnist, digits
and lfw_subset: the seeded stratified 20% split, seed 0, that every zoo
classifier of theirs was trained without):

- classifiers: clean accuracy; the Deep Defense run's classifiers also
  rho2 (DeepFool-50, correctly classified images), PGD-40 L-inf accuracy at
  `pgd_eps` (step 2.5 eps / 40, random start, seed 0) and eps_ref (the FGSM
  budget at which the run's Deep Defense model falls to 50%), as
  `benchmarks/deep_defense.py` measures them; the UDDN student its accuracy
  behind the UDDN denoiser;
- preprocessors: test reconstruction MSE and PSNR (`reconstruction_error`),
  also on the first `--subset` test images (the fast check of
  `tests/models/test_zoo.py`); UDDN its L1 and the classifier's accuracy
  behind it, clean and under FGSM at the data set's eps; the RL chains the
  classifier's accuracy behind them, clean and under FGSM of each strength
  (`chain_choices`); the target classifier is the `--classifier` of the
  entry's training command;
- toolboxes, agents and generators have no figure of their own: they are
  evaluated through the entry their pipeline trained with them
  (`evaluated_in`).

Every accuracy gets its 95% Wilson score interval (`ci95`). int8 (see
`benchmarks/zoo_int8.py`): each classifier exported as the mobile app bundle
and run in LiteRT as the app runs it, top-1 agreement with the Keras model
on every test image; each preprocessor's int8 `.tflite`, mean absolute
difference of its output images to Keras'.

Usage (from the repository root):
    python benchmarks/zoo_figures.py [--only NAME ...] [--what figures int8]
        [--subset 300] [--output benchmarks/results/zoo_figures.json]

Prints a table and writes the JSON atomically, merged with the entries it
already holds (run the heavy entries one `--only` at a time). Then
`python scripts/write_model_cards.py --figures benchmarks/results/zoo_figures.json --readme README.md`
writes the figures into the manifest, the model cards and the README's zoo table.
"""

import argparse
import importlib.metadata
import json
import math
import os
import platform
import shlex
import sys
import time

import numpy as np

from tfdefend import data, models
from tfdefend.attacks import fgsm, pgd
from tfdefend.evaluation import chain_choices, denoising_l1, fgsm_eps_ref, predict_labels, rho2
from tfdefend.training import reconstruction_error
from tfdefend.utils import atomic_write_text, sha256_file
from zoo_int8 import CALIBRATION_IMAGES, int8_row

OUTPUT = "benchmarks/results/zoo_figures.json"
SUBSET = 300
PGD_STEPS = 40  # benchmarks/deep_defense.py's defaults (--pgd-steps, --rho2-steps)
RHO2_STEPS = 50
CHUNK = 1000
Z95 = 1.959963984540054


def wilson(correct, n, z=Z95):
    """95% Wilson score interval [lo, hi] of an accuracy of `correct` out of `n`, rounded to 4 places."""
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def _sig(value, digits=4):
    return float(f"{value:.{digits}g}")


def split_text(dataset):
    if data.dataset_info(dataset).official_split:
        return "official test split"
    return "seeded stratified 20% test split, seed 0"


def command_option(command, flag):
    """The value of `flag` in a recorded command line, or None."""
    argv = shlex.split(command)
    return argv[argv.index(flag) + 1] if flag in argv else None


def _siblings(manifest, entry, **match):
    """Entries trained by the same command as `entry`, or by a command that reads `entry`'s file (a
    chain trained over a zoo toolbox), whose fields equal `match`."""
    return sorted(n for n, e in manifest.items()
                  if (e.get("command") == entry.get("command") or f"/{entry['file']}" in e.get("command", ""))
                  and all(e.get(k) == v for k, v in match.items()))


def _chunked(fn, *arrays):
    return np.concatenate([np.asarray(fn(*(a[i:i + CHUNK] for a in arrays)))
                           for i in range(0, len(arrays[0]), CHUNK)])


class _Figures:
    """Collects figures (as the manifest stores them), their counts and Wilson intervals."""

    def __init__(self, n):
        self.n, self.figures, self.counts, self.ci95, self.extra = n, {}, {}, {}, {}

    def accuracy(self, key, correct):
        correct = int(correct)
        self.counts[key] = correct
        self.ci95[key] = wilson(correct, self.n)
        return round(correct / self.n, 4)


def _classifier(entry, manifest, model, x, y, fig):
    pred = predict_labels(model, x)
    fig.figures["clean_accuracy"] = fig.accuracy("clean_accuracy", np.sum(pred == y))
    if "rho2" in entry:
        fig.figures["rho2"] = _sig(rho2(model, x, y, steps=RHO2_STEPS))
    if "pgd_accuracy" in entry:
        eps = float(entry["pgd_eps"])
        x_adv = _chunked(lambda xb, yb: pgd(model, xb, yb, eps=eps, step_size=2.5 * eps / PGD_STEPS,
                                            steps=PGD_STEPS, random_start=True, seed=0), x, y)
        fig.figures["pgd_accuracy"] = fig.accuracy("pgd_accuracy", np.sum(predict_labels(model, x_adv) == y))
    if "eps_ref" in entry:
        source = _siblings(manifest, entry, defense="deepdefense")[0]
        fig.figures["eps_ref"] = _sig(fgsm_eps_ref(models.load_pretrained(source), x, y, tol=1e-3))
        fig.extra["eps_ref_model"] = source
    if "defended_accuracy_clean" in entry:  # the UDDN student behind its own pipeline's denoiser
        denoiser = _siblings(manifest, entry, kind="preprocessor")[0]
        denoised = np.asarray(models.load_pretrained(denoiser).predict(x, verbose=0))
        fig.figures["defended_accuracy_clean"] = fig.accuracy(
            "defended_accuracy_clean", np.sum(predict_labels(model, denoised) == y))
        fig.extra["denoiser"] = denoiser
    return pred


def _preprocessor(entry, model, x, y, fig, subset):
    error = reconstruction_error(model, x)
    fig.figures.update(test_mse=_sig(error["mse"]), test_psnr_db=round(error["psnr_db"], 2))
    first = reconstruction_error(model, x[:subset])
    fig.extra["subset"] = {"examples": min(subset, len(x)), "test_mse": first["mse"],
                           "test_psnr_db": first["psnr_db"]}
    if "test_l1_clean" not in entry and "defended_accuracy" not in entry:
        return
    classifier_name = command_option(entry["command"], "--classifier")
    classifier = models.load_pretrained(classifier_name)
    fig.extra["classifier"] = classifier_name
    if "defended_accuracy" in entry:  # the RL chain: clean and FGSM of each tool strength
        stats = chain_choices(model, classifier, x, y, model.toolbox.strengths)
        fig.figures["defended_accuracy"] = {
            key: fig.accuracy(f"defended_accuracy.{key}", round(row["defended_accuracy"] * fig.n))
            for key, row in stats.items()}
        fig.figures["defended_accuracy_clean"] = fig.figures["defended_accuracy"]["clean"]
        fig.ci95["defended_accuracy_clean"] = fig.ci95["defended_accuracy.clean"]
        fig.extra["undefended_accuracy"] = {key: row["undefended_accuracy"] for key, row in stats.items()}
        return
    eps = float(command_option(entry["command"], "--eps") or data.dataset_info(entry["dataset"]).attack_eps)
    x_fgsm = _chunked(lambda xb, yb: fgsm(classifier, xb, yb, eps=eps), x, y)
    clean_out = np.asarray(model.predict(x, verbose=0))
    fgsm_out = np.asarray(model.predict(x_fgsm, verbose=0))
    fig.figures.update(test_l1_clean=_sig(denoising_l1(model, x, x)),
                       test_l1_fgsm=_sig(denoising_l1(model, x_fgsm, x)))
    for key, images in (("defended_accuracy_clean", clean_out), ("defended_accuracy_fgsm", fgsm_out)):
        fig.figures[key] = fig.accuracy(key, np.sum(predict_labels(classifier, images) == y))
    undefended = float(np.mean(predict_labels(classifier, x_fgsm) == y))
    fig.extra.update(fgsm_eps=eps, undefended_accuracy_fgsm=undefended)


def _versions():
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "ai_edge_litert": importlib.metadata.version("ai-edge-litert")}


def measure(name, manifest, what, subset):
    """The row of zoo entry `name`: split, figures with counts and intervals, int8 fidelity."""
    entry = manifest[name]
    kind, dataset = entry.get("kind", "classifier"), entry["dataset"]
    x, y = data.load(dataset, "test", as_numpy=True)
    weights = os.path.join(models.zoo.ZOO_DIR, entry["file"])
    row = {"kind": kind, "dataset": dataset, "split": "test", "split_kind": split_text(dataset),
           "test_examples": len(x), "sha256": sha256_file(weights), "params": entry.get("params"),
           "size_bytes": os.path.getsize(weights)}
    if kind not in ("classifier", "preprocessor"):  # toolbox, agent, generator: through their pipeline
        return {**row, "evaluated_in": _siblings(manifest, entry, kind="preprocessor")[0]}
    model = models.load_pretrained(name)
    fig = _Figures(len(x))
    if "figures" in what:
        start = time.perf_counter()
        if kind == "classifier":
            _classifier(entry, manifest, model, x, y, fig)
        else:
            _preprocessor(entry, model, x, y, fig, subset)
        row.update(figures=fig.figures, ci95=fig.ci95, counts=fig.counts, **fig.extra,
                   figures_seconds=round(time.perf_counter() - start, 1))
    if "int8" in what:
        start = time.perf_counter()
        keras_pred = predict_labels(model, x) if kind == "classifier" else None
        int8 = int8_row(entry, model, x, y, keras_pred)
        if "agreeing" in int8:
            int8["ci95"] = wilson(int8["agreeing"], len(x))
        row["int8"] = {**int8,
                       "seconds": round(time.perf_counter() - start, 1)}
    return row


def _percent(value):
    return f"{100 * value:.2f}%"


def _figure_text(row, key, value):
    ci = row.get("ci95", {}).get(key)
    if "accuracy" not in key:
        return f"{key} {value:g}"
    return f"{key} {_percent(value)}" + (f" [{_percent(ci[0])}, {_percent(ci[1])}]" if ci else "")


def _int8_text(int8):
    if "error" in int8:
        return f"not exported: {int8['error'][:60]}"
    if "top1_agreement" in int8:
        return f"{_percent(int8['top1_agreement'])} top-1"
    return f"MAE {int8['output_mae']:g}" if "output_mae" in int8 else "-"


def format_table(results):
    """A Markdown table: one row per entry with its split size, figures (95% CI) and int8 fidelity."""
    lines = ["| entry | kind | data | test images | figures (95% CI) | int8 vs Keras |",
             "|---|---|---|---|---|---|"]
    for name, row in sorted(results["models"].items()):
        cells = []
        for key, value in sorted(row.get("figures", {}).items()):
            pairs = value.items() if isinstance(value, dict) else [(None, value)]
            cells += [_figure_text(row, f"{key}.{sub}" if sub else key, val) for sub, val in pairs]
        figures = "; ".join(cells) or f"evaluated in {row.get('evaluated_in', '-')}"
        lines.append(f"| {name} | {row['kind']} | {row['dataset']} | {row['test_examples']:,} | {figures} | "
                     f"{_int8_text(row.get('int8', {}))} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=None, help="zoo entries (default: all)")
    parser.add_argument("--what", nargs="+", choices=("figures", "int8"), default=["figures", "int8"],
                        help="what to measure (default: both)")
    parser.add_argument("--subset", type=int, default=SUBSET,
                        help="preprocessors: also the figures of the first SUBSET test images (fast test)")
    parser.add_argument("--output", default=OUTPUT)
    args = parser.parse_args(argv)
    manifest = models.zoo.read_manifest()
    names = args.only or sorted(manifest)
    unknown = sorted(set(names) - set(manifest))
    if unknown:
        parser.error(f"not in the zoo: {', '.join(unknown)}")
    given = argv if argv is not None else sys.argv[1:]
    command = shlex.join(["python", "benchmarks/zoo_figures.py", *given])
    results = {"models": {}}
    if os.path.isfile(args.output):
        with open(args.output, encoding="utf-8") as handle:
            results = json.load(handle)
    results.update(command="python benchmarks/zoo_figures.py", last_run=command, subset=args.subset,
                   calibration_images=CALIBRATION_IMAGES,
                   pgd_steps=PGD_STEPS, rho2_steps=RHO2_STEPS,
                   interval="95% Wilson score interval of each accuracy")
    versions = _versions()
    for name in names:
        start = time.perf_counter()
        row = measure(name, manifest, args.what, args.subset)
        again = ["python", "benchmarks/zoo_figures.py", "--only", name]  # reproduces this entry's figures
        again += ["--subset", str(args.subset)] if args.subset != SUBSET else []
        if "figures" in args.what:
            row.update(command=shlex.join(again), versions=versions)
        if "int8" in row:
            row["int8"].update(command=shlex.join(again), versions=versions)
        old = results["models"].get(name, {})
        if old.get("sha256") == row["sha256"] and "figures" not in args.what:  # int8 only: keep the figures
            row = {**old, **row}
        elif old.get("sha256") == row["sha256"] and "int8" in old and "int8" not in row:
            row["int8"] = old["int8"]
        results["models"][name] = row
        atomic_write_text(args.output, json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"{name}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    print(format_table(results))
    print(f"\nwrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
