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
the two is the "adaptive" column.

Writes `table.md`, `results.json`, `accuracy.png` to `--output`.

Usage (the zoo's uddn/uddn_student/gnr entries must exist; `--cache` keeps the
models trained here, so `--train-only` can run first, e.g. while the zoo trains):
    python benchmarks/uddn_defense.py --limit 1000 --cache runs/uddn_bench \
        --output benchmarks/results/uddn_fashion_mnist
"""

import argparse
import json
import os
import time

import numpy as np

from tfdefend import data, models
from tfdefend.attacks import bim, fgsm
from tfdefend.evaluation import accuracy, defense_table, denoising_l1
from tfdefend.training import defensive_distillation, fit_classifier, train_uddn_defense
from tfdefend.utils import atomic_write_text
from tfdefend.utils.calling import call_model


def _attacks(eps, steps):
    return {"fgsm": lambda m, x, y: fgsm(m, x, y, eps=eps),
            f"ifgsm{steps}": lambda m, x, y: bim(m, x, y, eps=eps, steps=steps)}


def train_extra_rows(args, classifier, x_train, y_train, spec):
    """Trains what the zoo does not ship: the ablation denoisers, defensive distillation, the black-box source.

    With `--cache DIR` each trained model is saved there and reloaded by the next run.
    """

    from tfdefend.export import save_keras

    common = {"eps": args.eps, "real_count": args.real_count, "uddn_epochs": args.uddn_epochs,
              "distill_epochs": 0, "use_gnr": False, "seed": 0, "verbose": 0}
    shape = {"input_shape": spec.image_shape, "num_classes": spec.num_classes}

    def defensive():
        student, _ = defensive_distillation(models.create_model("small_cnn", **shape),
                                            models.create_model("small_cnn", **shape), x_train, y_train,
                                            temperature=20.0, epochs=(args.dd_epochs, args.dd_epochs), verbose=0)
        return student

    def source():
        mlp = models.create_model("mlp", **shape)
        fit_classifier(mlp, (x_train, y_train), epochs=3, batch_size=128, verbose=0)
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
        path = os.path.join(args.cache, f"{name}.keras") if args.cache else None
        if path and os.path.exists(path):
            out[name] = models.load_model(path)
            continue
        start = time.perf_counter()
        out[name] = recipe()
        seconds[name] = round(time.perf_counter() - start, 1)
        if path:
            os.makedirs(args.cache, exist_ok=True)
            save_keras(out[name], path, include_optimizer=False, overwrite=True)
        print(f"trained {name} in {seconds[name]:.0f} s", flush=True)
    return out, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--limit", type=int, default=1000, help="test images")
    parser.add_argument("--eps", type=float, default=None, help="L-inf budget (default: the data set's)")
    parser.add_argument("--ifgsm-steps", type=int, default=10)
    parser.add_argument("--real-count", type=int, default=8000)
    parser.add_argument("--uddn-epochs", type=int, default=3)
    parser.add_argument("--dd-epochs", type=int, default=1, help="epochs of each defensive-distillation stage")
    parser.add_argument("--cache", default=None, help="save/reuse the models trained here in this folder")
    parser.add_argument("--train-only", action="store_true", help="train (and cache) the extra rows, then stop")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    spec = data.dataset_info(args.dataset)
    args.eps = args.eps or spec.attack_eps
    output = args.output or f"benchmarks/results/uddn_{args.dataset}"
    classifier_name = models.default_pretrained(args.dataset)
    classifier = models.load_pretrained(classifier_name)
    zoo = lambda kind: models.load_pretrained(f"{kind}_{args.dataset}")
    x_train, y_train = data.load(args.dataset, "train", as_numpy=True)
    x_test, y_test = data.load(args.dataset, "test", as_numpy=True, limit=args.limit)

    extra, train_seconds = train_extra_rows(args, classifier, x_train, y_train, spec)
    if args.train_only:
        return
    uddn, student = zoo("uddn"), zoo("uddn_student")
    groups = {  # classifier -> {row name: preprocessor}
        "base": (classifier, {"dae": zoo("dae"), "comdefend": zoo("comdefend"), "pixel_unet": extra["pixel_unet"],
                              "uddn_no_gnr": extra["uddn_no_gnr"], "uddn": uddn}),
        "student": (student, {"uddn+kt": uddn}),
        "distilled": (extra["defensive_distillation"], {}),
    }
    attacks = _attacks(args.eps, args.ifgsm_steps)
    black = {name: attack(extra["source"], x_test, y_test) for name, attack in attacks.items()}
    start = time.perf_counter()
    results = {}
    for group, (clf, defenses) in groups.items():
        rows = defense_table(clf, defenses, (x_test, y_test), attacks, batch_size=250)
        for row in rows:
            name = row["defense"]
            if name == "none":
                name = {"base": "none", "student": None, "distilled": "defensive_distillation"}[group]
            if name is None:
                continue
            entry = results.setdefault(name, {"classifier": "student" if group == "student" else group})
            key = "clean" if row["attack"] == "clean" else f"white_{row['attack']}_{row['mode']}"
            entry[key] = row["accuracy"]
        for name in ["none"] * (group == "base") + ["defensive_distillation"] * (group == "distilled") + list(defenses):
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
    seconds = time.perf_counter() - start
    text = format_report(results, args, classifier_name, list(attacks))
    print(text)
    os.makedirs(output, exist_ok=True)
    atomic_write_text(os.path.join(output, "table.md"), text + "\n")
    atomic_write_text(os.path.join(output, "results.json"), json.dumps({
        "dataset": args.dataset, "classifier": classifier_name, "eps": args.eps, "limit": len(x_test),
        "ifgsm_steps": args.ifgsm_steps, "real_count": args.real_count,
        "train_seconds": train_seconds, "attack_seconds": round(seconds, 1), "rows": results}, indent=2) + "\n")
    plot(results, list(attacks), os.path.join(output, "accuracy.png"))
    print(f"\nwrote {output}/table.md, results.json, accuracy.png")


def _adaptive(entry, attack):
    modes = [entry.get(f"white_{attack}_{m}") for m in ("oblivious", "gray_box", "adaptive")]
    return min(v for v in modes if v is not None)


def format_report(results, args, classifier_name, attack_names):
    pct = lambda v: "" if v is None else f"{100 * v:.1f}"
    lines = [f"# UDDN and baselines on {args.dataset}", "",
             (f"Classifier `{classifier_name}`; {args.limit} test images; L-inf eps {args.eps}; "
             f"black-box source: an MLP; accuracy in %."), "",
             "## Table 1: mean L1 distance between defended input and clean image", "",
             "| defense | clean | white-box | black-box |", "|---|---|---|---|"]
    for name, entry in results.items():
        lines.append(f"| {name} | {entry['l1_clean']:.4f} | {entry['l1_white']:.4f} | {entry['l1_black']:.4f} |")
    head = ["defense", "clean"] + [f"white {a}" for a in attack_names] + [f"black {a}" for a in attack_names] + \
        [f"adaptive {a}" for a in attack_names]
    lines += ["", ("## Tables 2-3: accuracy (white = crafted on the bare classifier; adaptive = min of end-to-end "
              "gradients and BPDA)"), "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, entry in results.items():
        cells = [name, pct(entry["clean"])] + [pct(entry.get(f"white_{a}_oblivious")) for a in attack_names] + \
            [pct(entry.get(f"black_{a}")) for a in attack_names] + [pct(_adaptive(entry, a)) for a in attack_names]
        lines.append("| " + " | ".join(cells) + " |")
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
        ax.bar(np.arange(len(names)) + (len(columns) + j) * width, [100 * _adaptive(results[n], attack) for n in names],
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
