"""Deep Defense vs Parseval training and adversarial training (Yan et al., 2018, Table 1) on our data.

For each architecture (`mlp`: the paper's 500-150 MLP; `cnn`: a LeNet-sized
`small_cnn`) and seed: train a Reference with `train_classifier`, then
fine-tune copies of it with the same optimizer schedule (Adam, `--lr`
halved at 80% of `--finetune-epochs`, batch `--batch-size`):

* Par. Train: Parseval constraint (beta 3e-4) on every kernel, plain loss;
* Adv. Train I: FGSM adversarial training, ratio 0.5, eps `--adv-eps`;
* PGD-AT: PGD-7 adversarial training (Madry), ratio 1, eps `--adv-eps`;
* Deep Defense: `DeepDefense` with the paper's lam=15 (`--lam`), c=25, d=5, 5 DeepFool steps over
  `--num-candidates` classes (default 2; 10 is the paper's full DeepFool).

Columns: clean accuracy, rho2 (DeepFool, correctly classified test
images), FGSM accuracy at 0.2 / 0.5 / 1.0 x eps_ref (eps_ref: the FGSM
budget that brings the seed's Deep Defense model to 50%, by bisection),
PGD-40 (`--pgd-steps`) L-inf accuracy at the data set's usual eps, and training seconds per
epoch. Several `--seeds` give mean +- std. Each row also records which
test images its model gets right (`correct_images`: the bits as hex), and
the summary compares the seeds' sets (`correct_sets`: counts, distinct sets,
images two seeds disagree on), so equal accuracies over seeds can be told
apart from one model measured several times. Writes `table.md`,
`results.json` and `accuracy_vs_fgsm_eps.png` to `--output`; with
`--save-zoo DIR`, seed 0's Reference / PGD-AT / Deep Defense classifiers as
`.keras` files with a metrics JSON each.

`--methods` trains only some rows (the Reference is always trained: the
others fine-tune it); `--merge results.json` adds the seeds of an earlier
run with the same settings, so more seeds of the costly rows can be run
later and reported together (each row says how many seeds it has).

Usage (a few CPU hours; see `--limit-*` for shorter runs):
    python benchmarks/deep_defense.py --dataset mnist --seeds 0 1 2 \
        --output benchmarks/results/deep_defense_mnist
"""

import argparse
import json
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tfdefend import data, models
from tfdefend.attacks import pgd
from tfdefend.evaluation import accuracy, accuracy_at_eps_ref, fgsm_eps_ref, predict_labels, rho2
from tfdefend.export import export_keras
from tfdefend.training import AdversarialTraining, DeepDefense, apply_parseval, train_classifier
from tfdefend.utils import atomic_path, atomic_write_text

METHODS = {"reference": "Reference", "parseval": "Par. Train", "adv_train": "Adv. Train I",
           "pgd_at": "PGD-AT", "deep_defense": "Deep Defense"}
ZOO_DEFENSES = {"reference": ("none", ""), "pgd_at": ("pgd-at", "_pgd_at"),
                "deep_defense": ("deepdefense", "_deepdefense")}
KS = (0.2, 0.5, 1.0)
PLOT_KS = (0.0, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.25, 1.5)


def build_classifier(arch, spec, args):
    if arch == "mlp":
        return models.create_model("mlp", input_shape=spec.image_shape, num_classes=spec.num_classes)
    if args.reference:
        return models.load_pretrained(args.reference)
    if args.pretrained:
        return models.load_pretrained(models.default_pretrained(args.dataset))
    return models.create_model("small_cnn", input_shape=spec.image_shape, num_classes=spec.num_classes,
                               filters=args.cnn_filters, dense_units=256, dropout=0.0)


def copy_of(model):
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    return clone


def finetune_optimizer(args, n_train):
    """Adam at `--lr`, halved after 80% of the fine-tuning steps (the paper's schedule)."""
    total = args.finetune_epochs * -(-n_train // args.batch_size)
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([max(1, int(0.8 * total))],
                                                                 [args.lr, args.lr / 2])
    return keras.optimizers.Adam(schedule)


def timed_fit(model, x, y, epochs, batch_size):
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return (time.perf_counter() - start) / epochs


def train_all(arch, seed, args, spec, train, tune):
    """{method: (classifier, seconds per epoch)} for one architecture and seed."""
    keras.utils.set_random_seed(seed)
    reference = build_classifier(arch, spec, args)
    out = {}
    if (args.pretrained or args.reference) and arch == "cnn":
        out["reference"] = (reference, None)
    else:
        start = time.perf_counter()
        train_classifier(reference, train, epochs=args.epochs, batch_size=128, verbose=0)
        out["reference"] = (reference, (time.perf_counter() - start) / args.epochs)
    x, y = tune
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    for method in [m for m in list(METHODS)[1:] if m in args.methods]:
        keras.utils.set_random_seed(seed)
        classifier = copy_of(reference)
        if method == "parseval":
            trainer = apply_parseval(classifier, beta=3e-4)
            trainer.compile(optimizer=finetune_optimizer(args, len(x)), loss=ce)
        elif method == "deep_defense":
            trainer = DeepDefense(classifier, lam=args.lam, c=25.0, d=5.0, deepfool_steps=5,
                                  num_candidates=args.num_candidates)
            trainer.compile(optimizer=finetune_optimizer(args, len(x)))
        else:
            attack = "fgsm" if method == "adv_train" else "pgd"
            trainer = AdversarialTraining(classifier, attack=attack, eps=args.adv_eps, steps=7,
                                          ratio=0.5 if attack == "fgsm" else 1.0, seed=seed)
            trainer.compile(optimizer=finetune_optimizer(args, len(x)))
        seconds = timed_fit(trainer, x, y, args.finetune_epochs, args.batch_size)
        out[method] = (classifier, seconds)
        print(f"  [{arch} seed {seed}] {METHODS[method]}: {seconds:.1f} s/epoch", flush=True)
    return out


def pgd_accuracy(model, x, y, eps, steps, chunk=1000):
    correct = 0
    for start in range(0, len(x), chunk):
        xb, yb = x[start:start + chunk], y[start:start + chunk]
        x_adv = pgd(model, xb, yb, eps=eps, step_size=2.5 * eps / steps, steps=steps, random_start=True,
                    seed=0)
        correct += accuracy(model, x_adv, yb) * len(xb)
    return correct / len(x)


def reference_eps(trained, x, y):
    """(eps_ref, source): from the Deep Defense model, else the Reference, else (None, None)."""
    for source in ("deep_defense", "reference"):
        try:
            return fgsm_eps_ref(trained[source][0], x, y, tol=1e-3), source
        except ValueError as err:  # e.g. a model below 50% clean accuracy
            print(f"  no eps_ref from {METHODS[source]}: {err}", flush=True)
    return None, None


def evaluate_all(trained, args, spec, test):
    x, y = test
    eps_ref, source = reference_eps(trained, x, y)
    scale = spec.attack_eps if eps_ref is None else eps_ref  # the curve's eps = k * scale
    ks = sorted({k for k in PLOT_KS if k * scale <= 1.0} | set(KS))  # FGSM budgets stay inside [0, 1]
    rows = {}
    for method, (model, seconds) in trained.items():
        curve = accuracy_at_eps_ref(model, x, y, scale, ks=ks)
        correct = predict_labels(model, x) == y
        rows[method] = {
            "clean_accuracy": float(np.mean(correct)),
            "correct_images": np.packbits(correct).tobytes().hex(),  # which test images it gets right
            "rho2": rho2(model, x, y, steps=args.rho2_steps),
            "acc_at_eps_ref": {str(k): None if eps_ref is None else curve[k] for k in KS},
            "pgd_accuracy": pgd_accuracy(model, x, y, spec.attack_eps, args.pgd_steps),
            "seconds_per_epoch": seconds,
            "fgsm_curve": {"eps": [k * scale for k in ks], "accuracy": list(curve.values())},
            "eps_ref": eps_ref, "eps_ref_source": source,
        }
        scalars = ", ".join(f"{k}={v:.4g}" for k, v in rows[method].items() if isinstance(v, float))
        print(f"  {METHODS[method]}: {scalars}", flush=True)
    return rows


def _percent(v):
    return f"{100 * v:.2f}%"


def _stat(values, fmt):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(float(np.mean(values)))} ± {fmt(float(np.std(values, ddof=1)))}"


def _metric_lists(runs):
    """{metric: [value per seed]} of one table row."""
    out = {key: [r[key] for r in runs]
           for key in ("clean_accuracy", "rho2", "pgd_accuracy", "eps_ref", "seconds_per_epoch")}
    out.update({f"acc_at_{k}_eps_ref": [r["acc_at_eps_ref"][str(k)] for r in runs] for k in KS})
    return out


def _runs(per_seed, arch, method):
    """The rows of one network and method, one per seed that trained it."""
    return [rows[arch][method] for rows in per_seed.values() if method in rows.get(arch, {})]


def _correct_sets(runs):
    """Seeds' correct-image sets of one row: counts, how many differ, images two seeds disagree on.

    The evidence that equal clean accuracies over seeds come from different
    models (None for rows written before the sets were recorded).
    """
    masks = [r.get("correct_images") for r in runs]
    if len(masks) < 2 or None in masks:
        return None
    bits = [np.unpackbits(np.frombuffer(bytes.fromhex(m), np.uint8)) for m in masks]
    return {"correct": [int(b.sum()) for b in bits], "distinct": len(set(masks)),
            "disagree": [int(np.sum(bits[i] != bits[j])) for i in range(len(bits)) for j in range(i + 1, len(bits))]}


def summarize(per_seed, archs, pgd_steps):
    """Markdown table lines (mean ± std over seeds) and the matching JSON summary."""
    lines = ["| network | method | seeds | accuracy | ρ₂ | " + " | ".join(f"Acc.@{k}ε_ref" for k in KS)
             + f" | PGD-{pgd_steps} | ε_ref | s / epoch |", "|---" * (8 + len(KS)) + "|"]
    summary = {}
    for arch in archs:
        for method, label in METHODS.items():
            runs = _runs(per_seed, arch, method)
            if not runs:
                continue
            values = _metric_lists(runs)
            cells = [_stat(values["clean_accuracy"], _percent), _stat(values["rho2"], lambda v: f"{v:.3e}")]
            cells += [_stat(values[f"acc_at_{k}_eps_ref"], _percent) for k in KS]
            cells += [_stat(values["pgd_accuracy"], _percent),
                      _stat(values["eps_ref"], lambda v: f"{v:.4f}"),
                      _stat(values["seconds_per_epoch"], lambda v: f"{v:.1f}")]
            lines.append(f"| {arch} | {label} | {len(runs)} | " + " | ".join(cells) + " |")
            summary[f"{arch}/{method}"] = {"seeds": len(runs)} | {
                key: None if any(v is None for v in vals) else
                {"mean": float(np.mean(vals)), "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0}
                for key, vals in values.items()}
            summary[f"{arch}/{method}"]["correct_sets"] = _correct_sets(runs)
    checks = [(key, row["correct_sets"]) for key, row in summary.items() if row["correct_sets"]]
    if checks:
        lines += ["", "Correct test images per seed (count; distinct sets; images two seeds disagree on, per pair):",
                  ""] + [f"- {key}: {'/'.join(map(str, c['correct']))}; {c['distinct']} distinct; "
                         f"{'/'.join(map(str, c['disagree']))}" for key, c in checks]
    return lines, summary


def plot(per_seed, archs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(archs), figsize=(6 * len(archs), 4.5), squeeze=False)
    for ax, arch in zip(axes[0], archs):
        for i, (method, label) in enumerate(METHODS.items()):
            runs = [row["fgsm_curve"] for row in _runs(per_seed, arch, method)]
            if not runs:
                continue
            n = min(len(r["eps"]) for r in runs)  # same k grid, cut where k * eps_ref > 1 for a seed
            eps = np.mean([r["eps"][:n] for r in runs], axis=0)
            acc = np.mean([r["accuracy"][:n] for r in runs], axis=0) * 100
            ax.plot(eps, acc, marker="o", ms=3, color=plt.cm.tab10(i), label=label)
        refs = [row["eps_ref"] for row in _runs(per_seed, arch, "deep_defense")]
        title = f"{arch}: FGSM (L-inf)"
        if refs and None not in refs:
            ax.axvline(np.mean(refs), color="grey", ls=":", lw=1)
            title += f", ε_ref = {np.mean(refs):.3f}"
        ax.set_title(title)
        ax.set_xlabel("ε")
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def zoo_base(arch, args):
    """File-name stem of an architecture (the zoo's `small_cnn_<dataset>` only for `--pretrained`)."""
    if arch == "mlp":
        return "mlp"
    if args.reference:
        return args.reference.removesuffix(f"_{args.dataset}")
    return "small_cnn" if args.pretrained else f"small_cnn_f{args.cnn_filters}"


def save_zoo(trained, rows, arch, args, directory, command):
    base = zoo_base(arch, args)
    for method, (defense, tag) in ZOO_DEFENSES.items():
        if method not in trained:  # not among --methods
            continue
        if method == "reference" and (args.reference or args.pretrained):
            continue  # loaded from the zoo: saving it again would only change its file
        classifier, row, stem = trained[method][0], rows[method], f"{base}{tag}_{args.dataset}"
        export_keras(classifier, os.path.join(directory, f"{stem}.keras"), include_optimizer=False)
        info = {"model": type(classifier).__name__, "kind": "classifier", "arch": arch, "dataset": args.dataset,
                "defense": defense, "clean_accuracy": row["clean_accuracy"], "test_examples": args.limit_test, "rho2": row["rho2"],
                "pgd_accuracy": row["pgd_accuracy"],
                "pgd_eps": data.dataset_info(args.dataset).attack_eps, "pgd_steps": args.pgd_steps,
                "acc_at_eps_ref": row["acc_at_eps_ref"], "eps_ref": row["eps_ref"],
                "epochs": args.epochs if method == "reference" else args.finetune_epochs,
                "finetuned_from": None if method == "reference" else f"{base}_{args.dataset}",
                "seed": args.seeds[0], "params": int(classifier.count_params()), "command": command,
                "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}}
        atomic_write_text(os.path.join(directory, f"{stem}.json"), json.dumps(info, indent=2) + "\n")
        print(f"  saved {directory}/{stem}.keras", flush=True)


SAME_SETTINGS = ("dataset", "epochs", "finetune_epochs", "batch_size", "lr", "adv_eps", "cnn_filters",
                 "pretrained", "reference", "limit_train", "limit_finetune", "limit_test", "rho2_steps", "pgd_steps",
                 "num_candidates", "lam")


def load_earlier(path, args):
    """The JSON of an earlier run to merge, refused unless its settings match this run's."""
    with open(path) as f:
        earlier = json.load(f)
    differ = [f"{k}: {earlier['args'].get(k)!r} there, {getattr(args, k)!r} here"
              for k in SAME_SETTINGS if earlier["args"].get(k) != getattr(args, k)]
    if differ:
        raise ValueError(f"--merge {path} was run with other settings ({'; '.join(differ)})")
    clash = sorted(set(map(int, earlier["per_seed"])) & set(args.seeds))
    if clash:
        raise ValueError(f"--merge {path} already holds seeds {clash}; pass other --seeds")
    return earlier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist", choices=["fashion_mnist", "mnist"])
    parser.add_argument("--archs", nargs="+", default=["mlp", "cnn"], choices=["mlp", "cnn"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=10, help="Reference training epochs")
    parser.add_argument("--finetune-epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=100, help="fine-tuning batch (paper: 100)")
    parser.add_argument("--lr", type=float, default=5e-4, help="fine-tuning learning rate (paper: 5e-4)")
    parser.add_argument("--adv-eps", type=float, default=None, help="FGSM / PGD-AT eps (default: data set's)")
    parser.add_argument("--cnn-filters", type=int, default=16, help="small_cnn filters of the first block")
    parser.add_argument("--pretrained", action="store_true", help="cnn Reference = the zoo's small_cnn")
    parser.add_argument("--reference", default=None, metavar="ZOO_NAME",
                        help="cnn Reference = this zoo classifier (e.g. small_cnn_f16_fashion_mnist)")
    parser.add_argument("--limit-train", type=int, default=None, help="images for the Reference")
    parser.add_argument("--limit-finetune", type=int, default=None, help="images for fine-tuning")
    parser.add_argument("--limit-test", type=int, default=1000, help="test images evaluated")
    parser.add_argument("--rho2-steps", type=int, default=50)
    parser.add_argument("--pgd-steps", type=int, default=40)
    parser.add_argument("--num-candidates", type=int, default=2,
                        help="Deep Defense's DeepFool candidate classes (10: the paper's full version)")
    parser.add_argument("--lam", type=float, default=15.0, help="Deep Defense's lambda (paper: 15)")
    parser.add_argument("--output", default=None)
    parser.add_argument("--save-zoo", default=None, metavar="DIR")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS),
                        help="rows to train (the Reference always is)")
    parser.add_argument("--merge", default=None, metavar="RESULTS_JSON",
                        help="an earlier results.json with the same settings whose seeds are added")
    args = parser.parse_args(argv)
    output = args.output or f"benchmarks/results/deep_defense_{args.dataset}"
    spec = data.dataset_info(args.dataset)
    args.adv_eps = args.adv_eps if args.adv_eps is not None else spec.attack_eps
    command = "python benchmarks/deep_defense.py " + " ".join(argv if argv is not None else sys.argv[1:])
    train = data.load(args.dataset, "train", as_numpy=True, limit=args.limit_train)
    tune = tuple(a[:args.limit_finetune] for a in train)
    test = data.load(args.dataset, "test", as_numpy=True, limit=args.limit_test)
    print(f"{args.dataset}: {len(train[0])} train, {len(tune[0])} fine-tune, {len(test[0])} test images",
          flush=True)

    earlier = load_earlier(args.merge, args) if args.merge else None
    start = time.perf_counter()
    per_seed = {}
    for seed in args.seeds:
        per_seed[seed] = {}
        for arch in args.archs:
            trained = train_all(arch, seed, args, spec, train, tune)
            per_seed[seed][arch] = evaluate_all(trained, args, spec, test)
            if args.save_zoo and seed == args.seeds[0]:
                save_zoo(trained, per_seed[seed][arch], arch, args, args.save_zoo, command)
    total = time.perf_counter() - start
    if earlier is not None:
        per_seed = {**{int(s): rows for s, rows in earlier["per_seed"].items()}, **per_seed}
        command = f"{earlier['command']} and {command}"
        total += earlier["total_seconds"]
        args.seeds = sorted(per_seed)

    lines, summary = summarize(per_seed, args.archs, args.pgd_steps)
    setup = (f"{len(train[0])} training images (Reference: {args.epochs} epochs), {len(tune[0])} for "
             f"fine-tuning ({args.finetune_epochs} epochs, batch {args.batch_size}, Adam {args.lr:g} "
             f"halved at 80%), {len(test[0])} test images; seeds {args.seeds} (mean ± std). Adversarial "
             f"training eps {args.adv_eps:g}; PGD-{args.pgd_steps} at eps {spec.attack_eps:g} (L-inf, step "
             f"2.5·eps/{args.pgd_steps}, "
             f"random start); ρ₂ with DeepFool-{args.rho2_steps} on correctly classified test images; "
             "ε_ref: FGSM budget at which the seed's Deep Defense model is at 50%; s / epoch includes "
             "tracing.")
    text = "\n".join([f"# Deep Defense and baselines on {args.dataset}", "", setup, "", *lines, "",
                      f"Command: `{command}` ({total / 60:.1f} min).", ""])
    print("\n" + text)
    os.makedirs(output, exist_ok=True)
    atomic_write_text(os.path.join(output, "table.md"), text)
    atomic_write_text(os.path.join(output, "results.json"), json.dumps({
        "dataset": args.dataset, "args": vars(args), "seeds": args.seeds, "summary": summary,
        "per_seed": {str(s): rows for s, rows in per_seed.items()}, "total_seconds": round(total, 1),
        "command": command, "versions": {"tensorflow": tf.__version__, "keras": keras.__version__}},
        indent=2) + "\n")
    plot(per_seed, args.archs, os.path.join(output, "accuracy_vs_fgsm_eps.png"))
    print(f"wrote {output}/table.md, results.json, accuracy_vs_fgsm_eps.png")


if __name__ == "__main__":
    main()
