"""UDDN (+GNR, +knowledge transfer) against the other denoisers: the seed's Tables 1-3 on our data.

Rows (the seed's NA / DAE / PGD / UDDN / Distillation / "our method"):
- none: the zoo classifier alone;
- dae, comdefend: the zoo's clean-trained denoisers;
- pixel_unet: the U-Net trained on the real adversarial (and clean) pairs
  with the pixel L1 loss (the "PGD" pixel-guided denoiser of the seed's
  table, Liao et al.);
- uddn_no_gnr: UDDN (logit-guided) on the same real pairs only;
- uddn: UDDN with GNR augmentation (the zoo's);
- uddn+kt: UDDN in front of the knowledge-transfer student (the zoo's);
- defensive_distillation: Papernot et al.'s T=20 distillation, no denoiser.

Test sets (the seed's): clean; white-box = FGSM and I-FGSM-10 crafted on the
row's own bare classifier, then defended (the seed's and ComDefend's
"white-box"; our `defense_table` calls it oblivious); black-box = the same
attacks crafted on an MLP trained here (another architecture). We add the
full white-box adaptive number: gradients end to end through the defense
(gray_box) and through BPDA (identity / straight-through) — the lower of
the two is the "adaptive" column. Defensive distillation has no preprocessor
to differentiate through; its adaptive attack is the same FGSM / I-FGSM on
Carlini & Wagner's logit margin `max_{j != y} z_j - z_y` (`bim(...,
loss="margin")`), which the T=20-saturated softmax cannot hide, counted per
image together with the cross-entropy attack (an image survives only if it
survives both). `ce_zero_gradient` records the share of test images whose
cross-entropy input gradient is exactly zero (the gradient masking itself),
`apgd_dlr100` the accuracy under APGD-DLR (100 steps, random start), a
stronger check of what the 10-step margin attack leaves.

Writes `table.md`, `results.json`, `accuracy.png` to `--output`. `--only
ROW ...` re-measures only those rows (training only what they need) and
replaces them in the `results.json` already in `--output`, which must have
been run with the same settings; each such re-run is listed under `reruns`.
The models trained here are seeded (`--seed`), but the black-box source MLP
is retrained by every run, so a re-run row's black-box columns come from its
own run's source.

Usage (the zoo's uddn/uddn_student/gnr entries must exist; `--cache` keeps the
models trained here, so `--train-only` can run first, e.g. while the zoo trains):
    python benchmarks/uddn_defense.py --limit 1000 --cache runs/uddn_bench \
        --output benchmarks/results/uddn_fashion_mnist
    python benchmarks/uddn_defense.py --limit 1000 --only defensive_distillation \
        --output benchmarks/results/uddn_fashion_mnist
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
from tfdefend.attacks import apgd, bim, fgsm
from tfdefend.evaluation import accuracy, defense_table, denoising_l1, predict_labels
from tfdefend.training import train_classifier, train_defensive_distillation, train_uddn_defense
from tfdefend.utils import atomic_write_text
from tfdefend.utils.calling import call_model


ROWS = ("none", "dae", "comdefend", "pixel_unet", "uddn_no_gnr", "uddn", "uddn+kt", "defensive_distillation")
SAME_SETTINGS = ("dataset", "classifier", "eps", "limit", "ifgsm_steps", "real_count")


def _attacks(eps, steps):
    return {"fgsm": lambda m, x, y: fgsm(m, x, y, eps=eps),
            f"ifgsm{steps}": lambda m, x, y: bim(m, x, y, eps=eps, steps=steps)}


def _margin_attacks(eps, steps):
    """The same two attacks on the logit margin instead of the cross-entropy (FGSM = one BIM step of eps)."""
    return {"fgsm": lambda m, x, y: bim(m, x, y, eps=eps, step_size=eps, steps=1, loss="margin"),
            f"ifgsm{steps}": lambda m, x, y: bim(m, x, y, eps=eps, steps=steps, loss="margin")}


def ce_zero_gradient(model, x, y, batch_size=250):
    """Share of images whose cross-entropy gradient w.r.t. the input is exactly zero (saturated softmax)."""
    zero = []
    for start in range(0, len(x), batch_size):
        xb = tf.constant(x[start:start + batch_size])
        with tf.GradientTape() as tape:
            tape.watch(xb)
            logits = call_model(model, xb)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(y[start:start + batch_size], logits))
        grad = tape.gradient(loss, xb).numpy().reshape(len(xb), -1)
        zero.append(np.all(grad == 0.0, axis=1))
    return float(np.mean(np.concatenate(zero)))


def adaptive_distillation(entry, clf, x, y, eps, steps):
    """Adds the logit-margin attacks on the distilled classifier to its row (see the module docstring)."""
    ce, margin = _attacks(eps, steps), _margin_attacks(eps, steps)
    for name in ce:
        survive_ce = predict_labels(clf, ce[name](clf, x, y)) == y
        survive_margin = predict_labels(clf, margin[name](clf, x, y)) == y
        entry[f"white_{name}_margin"] = float(np.mean(survive_margin))
        entry[f"white_{name}_ce_or_margin"] = float(np.mean(survive_ce & survive_margin))
    entry["ce_zero_gradient"] = ce_zero_gradient(clf, x, y)
    entry["apgd_dlr100"] = accuracy(clf, apgd(clf, x, y, eps=eps, loss="dlr", steps=100, seed=0), y)


def train_extra_rows(args, classifier, x_train, y_train, spec, rows=ROWS):
    """Trains what the zoo does not ship (of `rows`): ablation denoisers, defensive distillation, black-box source.

    Each is seeded with `--seed`. With `--cache DIR` each trained model is saved there and reloaded by the
    next run.
    """

    from tfdefend.export import export_keras

    common = {"eps": args.eps, "real_count": args.real_count, "uddn_epochs": args.uddn_epochs,
              "distill_epochs": 0, "use_gnr": False, "seed": 0, "verbose": 0}
    shape = {"input_shape": spec.image_shape, "num_classes": spec.num_classes}

    def defensive():
        student, _ = train_defensive_distillation(models.create_model("small_cnn", **shape),
                                                  models.create_model("small_cnn", **shape), x_train, y_train,
                                                  temperature=20.0, epochs=(args.dd_epochs, args.dd_epochs),
                                                  verbose=0)
        return student

    def source():
        mlp = models.create_model("mlp", **shape)
        train_classifier(mlp, (x_train, y_train), epochs=3, batch_size=128, verbose=0)
        return mlp

    recipes = {
        # The same real adversarial pairs, no GNR: pixel_unet vs uddn_no_gnr isolates the loss,
        # uddn_no_gnr vs the zoo's uddn isolates the GNR augmentation.
        "pixel_unet": lambda: train_uddn_defense(classifier, x_train, y_train, guidance="pixels", **common)["uddn"],
        "uddn_no_gnr": lambda: train_uddn_defense(classifier, x_train, y_train, **common)["uddn"],
        "defensive_distillation": defensive,
        "source": source,
    }
    out, seconds = {}, {}
    for name, recipe in recipes.items():
        if name != "source" and name not in rows:
            continue
        keras.utils.set_random_seed(args.seed)
        path = os.path.join(args.cache, f"{name}.keras") if args.cache else None
        if path and os.path.exists(path):
            out[name] = models.load_model(path)
            continue
        start = time.perf_counter()
        out[name] = recipe()
        seconds[name] = round(time.perf_counter() - start, 1)
        if path:
            os.makedirs(args.cache, exist_ok=True)
            export_keras(out[name], path, include_optimizer=False, overwrite=True)
        print(f"trained {name} in {seconds[name]:.0f} s", flush=True)
    return out, seconds


def _groups(args, rows, classifier, extra):
    """{group: (classifier, {row name: preprocessor})} of the rows to measure (a group's bare row comes free)."""
    zoo = lambda kind: models.load_pretrained(f"{kind}_{args.dataset}")
    makers = {"dae": lambda: zoo("dae"), "comdefend": lambda: zoo("comdefend"),
              "pixel_unet": lambda: extra["pixel_unet"], "uddn_no_gnr": lambda: extra["uddn_no_gnr"],
              "uddn": lambda: zoo("uddn")}
    base = {name: make() for name, make in makers.items() if name in rows}
    groups = {}
    if base or "none" in rows:
        groups["base"] = (classifier, base)
    if "uddn+kt" in rows:
        groups["student"] = (zoo("uddn_student"), {"uddn+kt": zoo("uddn")})
    if "defensive_distillation" in rows:
        groups["distilled"] = (extra["defensive_distillation"], {})
    return groups


def measure(args, groups, rows, extra, x_test, y_test):
    """The result rows `{name: entry}` of `groups` (only the names in `rows`)."""
    attacks = _attacks(args.eps, args.ifgsm_steps)
    black = {name: attack(extra["source"], x_test, y_test) for name, attack in attacks.items()}
    bare = {"base": "none", "student": None, "distilled": "defensive_distillation"}
    results = {}
    for group, (clf, defenses) in groups.items():
        for row in defense_table(clf, defenses, (x_test, y_test), attacks, batch_size=250):
            name = bare[group] if row["defense"] == "none" else row["defense"]
            if name not in rows:
                continue
            entry = results.setdefault(name, {"classifier": "student" if group == "student" else group})
            key = "clean" if row["attack"] == "clean" else f"white_{row['attack']}_{row['mode']}"
            entry[key] = row["accuracy"]
        for name in [n for n in [bare[group], *defenses] if n in rows]:
            pre = defenses.get(name)
            entry = results[name]
            for attack_name, x_black in black.items():
                defended = x_black if pre is None else np.asarray(call_model(pre, x_black))
                entry[f"black_{attack_name}"] = accuracy(clf, defended, y_test)
            entry["l1_clean"] = denoising_l1(pre, x_test, x_test)
            white = np.concatenate([attack(clf, x_test, y_test) for attack in attacks.values()])
            entry["l1_white"] = denoising_l1(pre, white, np.concatenate([x_test] * len(attacks)))
            entry["l1_black"] = denoising_l1(pre, np.concatenate(list(black.values())),
                                             np.concatenate([x_test] * len(black)))
            if group == "distilled":
                adaptive_distillation(entry, clf, x_test, y_test, args.eps, args.ifgsm_steps)
    return {name: results[name] for name in ROWS if name in results}


def merge_rerun(path, report, rows, command):
    """`report` (this run, some rows) merged into the earlier full report at `path`; refused on other settings."""
    with open(path) as f:
        earlier = json.load(f)
    differ = [f"{k}: {earlier.get(k)!r} there, {report[k]!r} here" for k in SAME_SETTINGS if earlier.get(k) != report[k]]
    if differ:
        raise ValueError(f"{path} was run with other settings ({'; '.join(differ)}); rerun every row instead")
    merged = {name: report["rows"].get(name, earlier["rows"].get(name)) for name in ROWS
              if name in report["rows"] or name in earlier["rows"]}
    reruns = [r for r in earlier.get("reruns", []) if not set(r["rows"]) <= set(rows)] + [{
        "rows": list(rows), "command": command, "seed": report["seed"], "train_seconds": report["train_seconds"],
        "attack_seconds": report["attack_seconds"],
        "note": "these rows (black-box columns included, with this run's own source MLP) come from this run"}]
    return {**earlier, "rows": merged, "reruns": reruns}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--limit", type=int, default=1000, help="test images")
    parser.add_argument("--eps", type=float, default=None, help="L-inf budget (default: the data set's)")
    parser.add_argument("--ifgsm-steps", type=int, default=10)
    parser.add_argument("--real-count", type=int, default=8000)
    parser.add_argument("--uddn-epochs", type=int, default=3)
    parser.add_argument("--dd-epochs", type=int, default=1, help="epochs of each defensive-distillation stage")
    parser.add_argument("--seed", type=int, default=0, help="seed of every model trained here")
    parser.add_argument("--cache", default=None, help="save/reuse the models trained here in this folder")
    parser.add_argument("--train-only", action="store_true", help="train (and cache) the extra rows, then stop")
    parser.add_argument("--only", nargs="+", default=None, choices=ROWS, metavar="ROW",
                        help=f"re-measure only these rows ({', '.join(ROWS)}) and replace them in the "
                             "results.json already in --output (default: every row, a new file)")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    command = "python benchmarks/uddn_defense.py " + " ".join(argv if argv is not None else sys.argv[1:])
    rows = tuple(args.only or ROWS)
    spec = data.dataset_info(args.dataset)
    args.eps = args.eps or spec.attack_eps
    output = args.output or f"benchmarks/results/uddn_{args.dataset}"
    if args.only and not os.path.exists(os.path.join(output, "results.json")):
        raise ValueError(f"--only needs the results.json of a full run in {output}")
    classifier_name = models.default_pretrained(args.dataset)
    classifier = models.load_pretrained(classifier_name)
    x_train, y_train = data.load(args.dataset, "train", as_numpy=True)
    x_test, y_test = data.load(args.dataset, "test", as_numpy=True, limit=args.limit)

    extra, train_seconds = train_extra_rows(args, classifier, x_train, y_train, spec, rows)
    if args.train_only:
        return
    start = time.perf_counter()
    results = measure(args, _groups(args, rows, classifier, extra), rows, extra, x_test, y_test)
    report = {"dataset": args.dataset, "classifier": classifier_name, "eps": args.eps, "limit": len(x_test),
              "ifgsm_steps": args.ifgsm_steps, "real_count": args.real_count, "seed": args.seed,
              "train_seconds": train_seconds, "attack_seconds": round(time.perf_counter() - start, 1),
              "rows": results}
    if args.only:
        report = merge_rerun(os.path.join(output, "results.json"), report, rows, command)
    else:
        report["command"] = command
    attack_names = list(_attacks(args.eps, args.ifgsm_steps))
    text = format_report(report["rows"], args, classifier_name, attack_names)
    print(text)
    os.makedirs(output, exist_ok=True)
    atomic_write_text(os.path.join(output, "table.md"), text + "\n")
    atomic_write_text(os.path.join(output, "results.json"), json.dumps(report, indent=2) + "\n")
    plot(report["rows"], attack_names, os.path.join(output, "accuracy.png"))
    print(f"\nwrote {output}/table.md, results.json, accuracy.png")


def _adaptive(name, entry, attack):
    """The adaptive cell: the lowest attack that knows the defense; None when none was run.

    Undefended ("none"): the white-box attack is already end to end.
    """
    if name == "none":
        return entry.get(f"white_{attack}_oblivious")
    modes = [v for k, v in entry.items() if k.startswith(f"white_{attack}_") and not k.endswith("_oblivious")]
    return min(modes) if modes else None


def format_report(results, args, classifier_name, attack_names):
    pct = lambda v: "—" if v is None else f"{100 * v:.1f}"
    lines = [f"# UDDN and baselines on {args.dataset}", "",
             (f"Classifier `{classifier_name}`; {args.limit} test images; L-inf eps {args.eps}; "
             f"black-box source: an MLP; accuracy in %."), "",
             "## Table 1: mean L1 distance between defended input and clean image", "",
             "| defense | clean | white-box | black-box |", "|---|---|---|---|"]
    for name, entry in results.items():
        lines.append(f"| {name} | {entry['l1_clean']:.4f} | {entry['l1_white']:.4f} | {entry['l1_black']:.4f} |")
    head = ["defense", "clean"] + [f"white {a}" for a in attack_names] + [f"black {a}" for a in attack_names] + \
        [f"adaptive {a}" for a in attack_names]
    lines += ["", ("## Tables 2-3: accuracy (white = crafted on the bare classifier; adaptive = the lowest attack "
              "that knows the defense: end-to-end gradients or BPDA through a denoiser; for defensive distillation "
              "the CE or the logit-margin attack, per image; — = none run)"), "",
              "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, entry in results.items():
        cells = [name, pct(entry["clean"])] + [pct(entry.get(f"white_{a}_oblivious")) for a in attack_names] + \
            [pct(entry.get(f"black_{a}")) for a in attack_names] + \
            [pct(_adaptive(name, entry, a)) for a in attack_names]
        lines.append("| " + " | ".join(cells) + " |")
    margin = {n: e for n, e in results.items() if "ce_zero_gradient" in e}
    for name, entry in margin.items():
        lines += ["", f"{name}: cross-entropy input gradient exactly zero on {pct(entry['ce_zero_gradient'])}% of "
                  "the test images; logit-margin attack alone: " + ", ".join(
                      f"{a} {pct(entry.get(f'white_{a}_margin'))}" for a in attack_names) +
                  f"; APGD-DLR-100: {pct(entry.get('apgd_dlr100'))}."]
    return "\n".join(lines)


def plot(results, attack_names, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tfdefend.utils.atomic import atomic_path

    columns = [("clean", "clean")] + [(f"white_{a}_oblivious", f"white {a}") for a in attack_names] + \
        [(f"black_{a}", f"black {a}") for a in attack_names]
    names = list(results)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / (len(columns) + len(attack_names))
    for i, (key, label) in enumerate(columns):
        ax.bar(np.arange(len(names)) + i * width, [100 * results[n].get(key, 0) for n in names], width, label=label)
    for j, attack in enumerate(attack_names):
        ax.bar(np.arange(len(names)) + (len(columns) + j) * width,
               [100 * (_adaptive(n, results[n], attack) or 0.0) for n in names],
               width, label=f"adaptive {attack}", hatch="//")
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=20)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, ncol=3)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


if __name__ == "__main__":
    main()
