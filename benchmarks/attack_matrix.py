"""Attack speed matrix: tfdefend vs cleverhans, Foolbox and ART, round-robin in one process, vs the raw limit.

For every cell (model, input shape, batch, attack) each library's attack and
the raw gradient limit are warmed up (`--warmups` calls), then called in turn,
round-robin, `--repeats` times; a cell's figure is the best time of each (a
runner whose warm-up call took over `--max-seconds` is timed once more and
not repeated). All libraries run in this one process, as in a notebook that
compares them, so whatever one library leaves behind in TensorFlow is felt by
the others. Ratios compare times measured in the same cell:
`x limit` = limit / tfdefend (1.0: at the limit) and `x <peer>` = peer /
tfdefend (> 1: tfdefend faster). Settings: `attack_matrix_runners.py`.
Results are written after every cell (rerun the same command to resume).

    python benchmarks/attack_matrix.py --output-dir benchmarks/results/attack_matrix
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import attack_matrix_runners as R  # noqa: E402 - the benchmark's own helper module
from attack_matrix_report import write_report  # noqa: E402

SHAPES = {"28x28x1": (28, 28, 1), "32x32x3": (32, 32, 3), "96x96x3": (96, 96, 3)}
MODELS = ("sequential", "functional", "small_cnn", "resnet")
COSTLY = ("deepfool", "cw_l2", "apgd_ce")  # not run at batch 256 in the default grid


def build_model(kind, shape, seed=0):
    """An untrained 10-class model of `kind` (see MODELS) for `shape`; the seed fixes its weights."""
    import keras

    from tfdefend.models import create_model

    keras.utils.set_random_seed(seed)
    L = keras.layers
    if kind == "sequential":  # the model: conv 32, pool, conv 64, pool, dense 128, dense 10
        return keras.Sequential([keras.Input(shape), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
                                 L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(),
                                 L.Dense(128, activation="relu"), L.Dense(10)])
    if kind == "functional":  # a branchy functional model with batch norm and a skip connection
        inputs = keras.Input(shape)
        h = L.ReLU()(L.BatchNormalization()(L.Conv2D(32, 3, padding="same")(inputs)))
        h = L.Add()([h, L.Conv2D(32, 3, padding="same", activation="relu")(h)])
        h = L.MaxPooling2D()(h)
        h = L.GlobalAveragePooling2D()(L.Conv2D(64, 3, activation="relu")(h))
        return keras.Model(inputs, L.Dense(10)(h))
    if kind in ("small_cnn", "resnet"):
        return create_model(kind, input_shape=shape, num_classes=10)
    raise ValueError(f"`--models` must name some of {MODELS}, got {kind!r}.")


def default_cells(models, shapes, batches, attacks):
    """The default grid: every cell at 32x32x3; batch 32 only at other sizes; costly attacks not at 256."""
    cells = []
    for shape in shapes:
        for model in models:
            for batch in batches:
                if shape != "32x32x3" and batch != 32:
                    continue
                cells += [(model, shape, batch, a) for a in attacks if not (batch >= 256 and a in COSTLY)]
    return cells


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_cell(runners, warmups, repeats, max_seconds):
    """`({name: (best seconds, timed runs)}, {name: error})`: the runners warmed up, then round-robin.

    A runner that raises in its warm-up (a peer broken on this TF/Keras) is dropped, its error kept.
    """
    slow, best, runs, errors = set(), {}, {}, {}
    for name, fn in list(runners.items()):
        try:
            for _ in range(warmups):
                if _timed(fn) > max_seconds:
                    slow.add(name)
                    break
        except Exception as err:  # noqa: BLE001 - reported in the results, the cell goes on
            errors[name] = f"{type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}"
            del runners[name]
    for name in slow:  # timed once more, not repeated
        best[name], runs[name] = _timed(runners[name]), 1
    for _ in range(repeats):
        for name, fn in runners.items():
            if name not in slow:
                best[name] = min(best.get(name, np.inf), _timed(fn))
                runs[name] = runs.get(name, 0) + 1
    return {name: (best[name], runs[name]) for name in runners}, errors


def run_cell(model, x, y, attack, libraries, args, makers, model_kind=None):
    """Times one cell; returns its JSON record."""
    passes = R.PASSES[attack]
    if attack in COSTLY and args.peer_costly_models and model_kind not in args.peer_costly_models:
        libraries = ["tfdefend"]  # the peers' slow attacks only on the models named (the run's time budget)
    runners = {}
    if passes is not None:
        unit = 1 if passes == 1 else 10  # the limit of more passes is timed as 10 and scaled (exact: chained)
        runners["limit"] = R.limit_runner(model, x, y, unit)
    for lib in libraries:
        fn = makers[lib].get(attack)
        if fn is not None:
            runners[lib] = fn
    timed, errors = time_cell(runners, args.warmups, args.repeats, args.max_seconds)
    record = {"attack": attack, "passes": passes, "seconds": {}, "runs": {}, "errors": errors}
    for name, (seconds, runs) in timed.items():
        if name == "limit":
            seconds *= passes / unit
        record["seconds"][name], record["runs"][name] = seconds, runs
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default="benchmarks/results/attack_matrix")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--shapes", nargs="+", default=["32x32x3", "28x28x1", "96x96x3"], choices=sorted(SHAPES))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 32, 256])
    parser.add_argument("--attacks", nargs="+", default=list(R.ATTACKS), choices=R.ATTACKS)
    parser.add_argument("--libraries", nargs="+", default=list(R.LIBRARIES), choices=sorted(R.LIBRARIES))
    parser.add_argument("--full-grid", action="store_true", help="every shape x batch x attack")
    parser.add_argument("--warmups", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-seconds", type=float, default=30.0)
    parser.add_argument("--peer-costly-models", nargs="*", default=None,
                        help=f"run the peers' {', '.join(COSTLY)} only on these models (default: all)")
    args = parser.parse_args(argv)
    if "tfdefend" not in args.libraries:
        parser.error("`--libraries` must include tfdefend (every ratio is relative to it)")

    import tensorflow as tf

    from tfdefend.utils import atomic_write_text

    os.makedirs(args.output_dir, exist_ok=True)
    path = os.path.join(args.output_dir, "attack_matrix.json")
    done = json.load(open(path)) if os.path.exists(path) else {"cells": []}
    seen = {(c["model"], c["shape"], c["batch"], c["attack"]) for c in done["cells"]}
    cells = ([(m, s, b, a) for s in args.shapes for m in args.models for b in args.batches for a in args.attacks]
             if args.full_grid else default_cells(args.models, args.shapes, args.batches, args.attacks))
    done.update({"tensorflow": tf.__version__, "python": sys.version.split()[0], "machine": platform.machine(),
                 "cpus": os.cpu_count(), "warmups": args.warmups, "repeats": args.repeats,
                 "libraries": _versions(args.libraries)})
    current = None  # (model, shape, batch) of the model, images and runners built last
    for model_kind, shape, batch, attack in cells:
        if (model_kind, shape, batch, attack) in seen:
            continue
        if current != (model_kind, shape, batch):
            model = build_model(model_kind, SHAPES[shape])
            x = np.random.default_rng(0).uniform(0, 1, size=(batch, *SHAPES[shape])).astype(np.float32)
            y = np.argmax(model(x, training=False), axis=1).astype(np.int32)
            makers = {lib: R.LIBRARIES[lib](model, x, y) for lib in args.libraries}
            current = (model_kind, shape, batch)
        record = run_cell(model, x, y, attack, args.libraries, args, makers, model_kind)
        record.update(model=model_kind, shape=shape, batch=batch)
        done["cells"].append(record)
        atomic_write_text(path, json.dumps(done, indent=1))
        print(_line(record), flush=True)
    write_report(done, args.output_dir)
    print(f"wrote {args.output_dir}/attack_matrix.json, .md, .png")


def _line(record):
    s = record["seconds"]
    parts = [f"{k} {v:.4f}s" for k, v in s.items()]
    return f"{record['model']:10s} {record['shape']:8s} b{record['batch']:<4d} {record['attack']:9s} " + ", ".join(parts)


def _versions(libraries):
    import importlib.metadata as md

    names = {"tfdefend": None, "cleverhans": "cleverhans", "foolbox": "foolbox",
             "art": "adversarial-robustness-toolbox"}
    out = {}
    for lib in libraries:
        try:
            out[lib] = md.version(names[lib]) if names[lib] else "this checkout"
        except md.PackageNotFoundError:
            out[lib] = None
    return out


if __name__ == "__main__":
    main()
