"""AdvMask vs information-dropping augmentations on Fashion-MNIST (seed 003, Tables 4-1 and 4-4).

For each classifier (`--models`, default the registered "resnet" and
"mobilenet_v2") and seed, trains from scratch with plain `Model.fit` on a
`tf.data` pipeline (Adam `--lr`, cosine decay, `--epochs`, batch
`--batch-size`):

* Base (no augmentation), Cutout, RE (Keras's RandomErasing, p = 0.5),
  HaS, GridMask, AdvMask;
* ablation (Table 4-4): Adv (erase the sensitive pixels only), Random + Mask
  (regions grown from uniformly random points), Corner + Mask (regions grown
  from Harris corners, as many per image as the image has sensitive points;
  the seed's "Corner" is a corner detector), Adv + Mask (= AdvMask).

The AdvMask family erases with probability `--advmask-probability` (0.4:
the mean of the original code's 0 -> 0.8 ramp) and adds squares until 3% of
the image is erased (the original stopping rule). AdvMask's sensitive points
come from the seed's Base model with
`SensitivePointCache` (sparse attack with the normalized loss, eps = the data
set's `attack_eps` unless `--sp-eps`), cached under `--cache-dir`; `--sp-limit N` computes
them for the first N training images only (the others get AdvMask's GridMask
fallback), the cost knob on CPU. Columns: clean test accuracy
and PGD-`--pgd-steps` accuracy (L-inf, eps `--pgd-eps`, default `attack_eps`, random start) on
the first `--pgd-limit` test images; `--seeds` give mean ± std (run
seed-major, so a stopped run leaves whole seeds). Prints
Markdown and writes JSON atomically to `--output` after every run.

Usage (hours on CPU; see `--limit-*` and `--epochs` for shorter runs):
    python benchmarks/advmask.py --seeds 0 1 2 --output benchmarks/results/advmask_fashion_mnist.json
"""

import argparse
import json
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tfdefend import augment, data, models
from tfdefend.attacks import pgd
from tfdefend.evaluation import accuracy
from tfdefend.training import compile_classifier
from tfdefend.utils import atomic_write_text

MAIN = ("base", "cutout", "re", "has", "gridmask", "advmask")
ABLATION = ("base", "adv", "random_mask", "corner_mask", "advmask")
LABELS = {"base": "Base", "cutout": "Cutout", "re": "RE", "has": "HaS", "gridmask": "GridMask",
          "advmask": "AdvMask", "adv": "Adv", "random_mask": "Random + Mask", "corner_mask": "Corner + Mask"}
ABLATION_LABELS = {**LABELS, "advmask": "Adv + Mask"}


def augmentation(method, seed, args):
    """The augmentation layer of a baseline method (None for Base)."""
    side = 28
    return {
        "base": lambda: None,
        "cutout": lambda: augment.Cutout(args.cutout_size, seed=seed),
        "re": lambda: augment.random_erasing(0.5, (0.02, 0.4), seed=seed),
        "has": lambda: augment.HideAndSeek((0, side // 4, side // 2), 0.5, seed=seed),
        "gridmask": lambda: augment.GridMask((side // 4, side // 2), 0.5, probability=0.8, seed=seed),
    }[method]()


def advmask_masks(method, masks, x, probability):
    """(points, AdvMask kwargs) of an AdvMask-family method."""
    kwargs = {"probability": probability}
    if method == "advmask":
        return masks, kwargs
    if method == "adv":
        return masks, {**kwargs, "grow": False, "use_fallback": False}
    has_points = masks.sum(axis=(1, 2, 3), keepdims=True) > 0  # images beyond --sp-limit have none
    if method == "random_mask":
        return np.broadcast_to(has_points, masks.shape).astype(np.float32), kwargs
    counts = masks.sum(axis=(1, 2, 3)).astype(np.int64)
    return augment.corner_points(x, counts), kwargs


def train(name, method, seed, train_xy, masks, args):
    """Trains one classifier; returns (model, seconds)."""
    x, y = train_xy
    keras.utils.set_random_seed(seed)
    model = models.create_model(name, input_shape=(28, 28, 1), num_classes=10)
    if args.bn_momentum is not None:  # short runs: let the moving statistics settle
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = args.bn_momentum
    if method in ("adv", "random_mask", "corner_mask", "advmask"):
        points, kwargs = advmask_masks(method, masks, x, args.advmask_probability)
        dataset = augment.advmask_dataset(x, y, points, batch_size=args.batch_size, seed=seed, **kwargs)
    else:
        dataset = augment.augmented_dataset(x, y, augmentation(method, seed, args), batch_size=args.batch_size,
                                            seed=seed)
    steps = args.epochs * -(-len(x) // args.batch_size)
    compile_classifier(model, learning_rate=keras.optimizers.schedules.CosineDecay(args.lr, steps))
    start = time.perf_counter()
    model.fit(dataset, epochs=args.epochs, verbose=0)
    return model, time.perf_counter() - start


def pgd_accuracy(model, x, y, eps, steps, chunk=500):
    correct = 0.0
    for i in range(0, len(x), chunk):
        xb, yb = x[i:i + chunk], y[i:i + chunk]
        x_adv = pgd(model, xb, yb, eps=eps, step_size=2.5 * eps / steps, steps=steps, random_start=True, seed=0)
        correct += accuracy(model, x_adv, yb) * len(xb)
    return correct / len(x)


def _stat(values, n_seeds):
    """Mean ± std in %, with the run count when a cell has fewer runs than seeds (a stopped run)."""
    if not values:
        return "n/a"
    runs = f" ({len(values)} run{'s' if len(values) > 1 else ''})" if len(values) < n_seeds else ""
    if len(values) == 1:
        return f"{100 * values[0]:.2f}{runs}"
    return f"{100 * np.mean(values):.2f} ± {100 * np.std(values, ddof=1):.2f}{runs}"


def markdown(results, args):
    """Markdown tables: Table 4-1 (clean and PGD) and Table 4-4 (ablation)."""
    head = (f"Fashion-MNIST test accuracy (%), {args.epochs} epochs, seeds {args.seeds}, "
            f"{len(args.seeds)} run(s) per cell (mean ± std).")
    lines, n = [head, ""], len(args.seeds)
    for metric, title in (("clean", "clean"), ("pgd", f"PGD-{args.pgd_steps} (eps {args.pgd_eps:g})")):
        lines += [f"**{title}**", "", "| Model | " + " | ".join(LABELS[m] for m in MAIN) + " |",
                  "|---" * (len(MAIN) + 1) + "|"]
        for name in args.models:
            cells = [_stat(results[name][m][metric], n) if m in results.get(name, {}) else "–" for m in MAIN]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    if args.ablation:
        lines += ["**ablation**", "", f"| Model | Method | clean | PGD-{args.pgd_steps} |", "|---|---|---|---|"]
        for name in args.ablation_models:
            for m in ABLATION:
                row = results.get(name, {}).get(m)
                if row:
                    cells = f"{_stat(row['clean'], n)} | {_stat(row['pgd'], n)}"
                    lines.append(f"| {name} | {ABLATION_LABELS[m]} | {cells} |")
    return "\n".join(lines)


def summary(results):
    return {name: {m: {k: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0}
                       for k, v in row.items() if k in ("clean", "pgd", "seconds") and v}
                   for m, row in rows.items()} for name, rows in results.items()}


def save(results, points, args, command):
    report = {"command": command, "config": vars(args), "results": results, "summary": summary(results),
              "sensitive_points": points,
              "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}}
    atomic_write_text(args.output, json.dumps(report, indent=2) + "\n")


def run(args, command):
    x_tr, y_tr = data.load("fashion_mnist", "train", as_numpy=True, limit=args.limit_train)
    x_te, y_te = data.load("fashion_mnist", "test", as_numpy=True, limit=args.limit_test)
    x_pgd, y_pgd = x_te[:args.pgd_limit], y_te[:args.pgd_limit]
    methods = {name: list(MAIN) + ([m for m in ABLATION if m not in MAIN]
                                   if args.ablation and name in args.ablation_models else [])
               for name in args.models}
    results = {name: {m: {"clean": [], "pgd": [], "seconds": []} for m in methods[name]} for name in args.models}
    points = {}
    for seed in args.seeds:  # seed-major: a stopped run leaves whole seeds of every model
        for name in args.models:
            masks = None
            for method in methods[name]:
                model, seconds = train(name, method, seed, (x_tr, y_tr), masks, args)
                row = results[name][method]
                row["clean"].append(accuracy(model, x_te, y_te))
                row["pgd"].append(pgd_accuracy(model, x_pgd, y_pgd, args.pgd_eps, args.pgd_steps))
                row["seconds"].append(seconds)
                print(f"[{name} seed {seed}] {LABELS[method]}: clean {row['clean'][-1]:.4f} "
                      f"PGD {row['pgd'][-1]:.4f} ({seconds:.0f} s)", flush=True)
                if method == "base":  # AdvMask's sensitive points come from the Base model
                    cache = augment.SensitivePointCache(batch_size=args.sp_batch, verbose=args.verbose)
                    start = time.perf_counter()
                    n_sp = len(x_tr) if args.sp_limit is None else min(args.sp_limit, len(x_tr))
                    masks = np.zeros(x_tr.shape[:3] + (1,), np.float32)
                    masks[:n_sp] = cache.compute_or_load(
                        model, x_tr[:n_sp], y_tr[:n_sp], os.path.join(args.cache_dir, f"{name}_seed{seed}"),
                        eps=args.sp_eps, steps=args.sp_steps, lr=args.sp_lr, lam=args.sp_lam,
                        eta=args.sp_eta, seed=seed)
                    points[f"{name}/seed{seed}"] = {
                        "action": cache.last_action, "seconds": time.perf_counter() - start,
                        "mean_points": float(masks.sum(axis=(1, 2, 3)).mean()),
                        "no_points": float(np.mean(masks.sum(axis=(1, 2, 3)) < 3))}
                    print(f"  sensitive points ({cache.last_action}): {points[f'{name}/seed{seed}']}", flush=True)
                save(results, points, args, command)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["resnet", "mobilenet_v2"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--bn-momentum", type=float, default=None,
                        help="batch-norm momentum (default the models' 0.99; 0.9 for runs of a few hundred steps)")
    parser.add_argument("--limit-train", type=int, default=None)
    parser.add_argument("--limit-test", type=int, default=None)
    parser.add_argument("--pgd-limit", type=int, default=1000, help="test images attacked with PGD")
    parser.add_argument("--pgd-steps", type=int, default=10)
    parser.add_argument("--pgd-eps", type=float, default=None, help="PGD budget (default attack_eps)")
    parser.add_argument("--advmask-probability", type=float, default=0.4,
                        help="chance an image is erased by the AdvMask family (the original ramps 0 -> 0.8)")
    parser.add_argument("--cutout-size", type=int, default=14, help="Cutout side (16 px at 32 px, scaled)")
    parser.add_argument("--sp-eps", type=float, default=None, help="sparse attack budget (default attack_eps)")
    parser.add_argument("--sp-steps", type=int, default=50,
                        help="sensitive-point mask optimization steps (see --sp-lr)")
    parser.add_argument("--sp-lr", type=float, default=0.1,
                        help="Adam step on the mask logits (they start at 2: steps * lr must exceed 2 to prune)")
    parser.add_argument("--sp-lam", type=float, default=2.0)
    parser.add_argument("--sp-eta", type=float, default=0.1)
    parser.add_argument("--sp-batch", type=int, default=500)
    parser.add_argument("--sp-limit", type=int, default=None,
                        help="sensitive points for the first N training images only (the rest: GridMask)")
    parser.add_argument("--no-ablation", dest="ablation", action="store_false")
    parser.add_argument("--ablation-models", nargs="+", default=None,
                        help="models that also get the ablation rows (default: all of --models)")
    parser.add_argument("--cache-dir", default="benchmarks/results/advmask_cache")
    parser.add_argument("--output", default="benchmarks/results/advmask_fashion_mnist.json")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    args.eps = data.dataset_info("fashion_mnist").attack_eps
    args.sp_eps = args.eps if args.sp_eps is None else args.sp_eps
    args.pgd_eps = args.eps if args.pgd_eps is None else args.pgd_eps
    args.ablation_models = args.models if args.ablation_models is None else args.ablation_models
    command = "python benchmarks/advmask.py " + " ".join(sys.argv[1:] if argv is None else argv)
    results = run(args, command)
    print()
    print(markdown(results, args))
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
