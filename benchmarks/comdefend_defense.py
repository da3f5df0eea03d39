"""ComDefend (plain and residual encoder) against the preprocessing baselines.

Loads the zoo classifier and the zoo defenses of one data set (ComDefend,
ComDefend-residual, DAE) plus the parameter-free baselines (JPEG, bit-depth
reduction, median smoothing), then reports:

1. reconstruction error (MSE, PSNR) and the classifier's accuracy on the
   reconstructions of the whole clean test split for each defense, which
   answers the seed's claim "the residual encoder reconstructs better at
   equal code size" and gives each defense's clean cost;
2. clean accuracy and accuracy under FGSM / PGD-10 (L-inf, several eps) in the
   three threat models of `tfdefend.evaluation.defense_table`: oblivious,
   gray-box (plain gradients through the defense) and adaptive (BPDA);
3. a plot of accuracy vs eps per defense and mode.

Writes `table.md`, `results.json` and `accuracy_vs_eps.png` to `--output`.

Usage:
    python benchmarks/comdefend_defense.py --dataset fashion_mnist --limit 500 \
        --output benchmarks/results/comdefend_fashion_mnist
"""

import argparse
import json
import os
import time

from tfdefend import data, models
from tfdefend.evaluation import accuracy, attack_suite, defense_table, format_defense_table, plot_defense_table
from tfdefend.training import reconstruction_error
from tfdefend.utils import atomic_write_text

ZOO_DEFENSES = ("comdefend", "comdefend_residual", "dae")


def build_defenses(dataset, jpeg_quality, bits, median_size):
    """The zoo's trained defenses for `dataset` plus the parameter-free baselines."""
    defenses = {}
    for kind in ZOO_DEFENSES:
        name = f"{kind}_{dataset}"
        if name in models.list_pretrained():
            defenses[kind] = models.load_pretrained(name)
    defenses[f"jpeg_q{jpeg_quality}"] = models.JPEGCompression(quality=jpeg_quality)
    defenses[f"bit_depth_{bits}"] = models.BitDepthReduction(bits=bits)
    defenses[f"median_{median_size}"] = models.MedianSmoothing(size=median_size)
    return defenses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--classifier", default=None, help="zoo name (default: the data set's default)")
    parser.add_argument("--eps", type=float, nargs="+", default=None,
                        help="L-inf budgets (default: 0.25x, 0.5x, 1x the data set's usual eps)")
    parser.add_argument("--pgd-steps", type=int, default=10)
    parser.add_argument("--limit", type=int, default=500, help="test images attacked")
    parser.add_argument("--jpeg-quality", type=int, default=75)
    parser.add_argument("--bits", type=int, default=3)
    parser.add_argument("--median-size", type=int, default=2)
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    output = args.output or f"benchmarks/results/comdefend_{args.dataset}"
    spec = data.dataset_info(args.dataset)
    eps_values = args.eps or [round(spec.attack_eps * k, 4) for k in (0.25, 0.5, 1.0)]
    classifier_name = args.classifier or models.default_pretrained(args.dataset)
    classifier = models.load_pretrained(classifier_name)
    defenses = build_defenses(args.dataset, args.jpeg_quality, args.bits, args.median_size)

    x_test, y_test = data.load(args.dataset, "test", as_numpy=True)
    reconstruction = {"none": {"clean_accuracy_full_split": accuracy(classifier, x_test, y_test, batch_size=500)}}
    for name, defense in defenses.items():
        entry = {**reconstruction_error(defense, x_test), "params": int(defense.count_params()),
                 "clean_accuracy_full_split": accuracy(models.DefendedClassifier(defense, classifier), x_test, y_test,
                                                       batch_size=500)}
        if hasattr(defense, "code_channels"):
            entry["code_bits_per_image"] = int(spec.image_shape[0] * spec.image_shape[1] * defense.code_channels)
        reconstruction[name] = entry
    start = time.perf_counter()
    rows = defense_table(classifier, defenses, (x_test[:args.limit], y_test[:args.limit]),
                         attack_suite(eps_values, pgd_steps=args.pgd_steps), batch_size=250)
    seconds = time.perf_counter() - start

    lines = [f"# ComDefend and baselines on {args.dataset}", "",
             f"Classifier: `{classifier_name}`; {args.limit} test images for attacks; "
             f"PGD-{args.pgd_steps} step 2.5·eps/{args.pgd_steps}; accuracy in %.", "",
             "## Reconstruction of clean test images", "",
             f"| defense | params | code bits / image | MSE | PSNR (dB) | clean % ({len(x_test):,} images) |",
             "|---|---|---|---|---|---|"]
    for name, entry in reconstruction.items():
        if name == "none":
            lines.append(f"| none | | | | | {100 * entry['clean_accuracy_full_split']:.2f} |")
            continue
        lines.append(f"| {name} | {entry['params']:,} | {entry.get('code_bits_per_image', '')} | "
                     f"{entry['mse']:.5f} | {entry['psnr_db']:.2f} | "
                     f"{100 * entry['clean_accuracy_full_split']:.2f} |")
    lines += ["", "## Accuracy (oblivious / gray_box / adaptive = BPDA)", "", format_defense_table(rows), ""]
    text = "\n".join(lines)
    print(text)
    os.makedirs(output, exist_ok=True)
    atomic_write_text(os.path.join(output, "table.md"), text + "\n")
    atomic_write_text(os.path.join(output, "results.json"), json.dumps({
        "dataset": args.dataset, "classifier": classifier_name, "eps": eps_values, "limit": args.limit,
        "pgd_steps": args.pgd_steps, "reconstruction": reconstruction, "rows": rows,
        "attack_seconds": round(seconds, 1)}, indent=2) + "\n")
    plot_defense_table(rows, os.path.join(output, "accuracy_vs_eps.png"))
    print(f"\nwrote {output}/table.md, results.json, accuracy_vs_eps.png ({seconds:.0f} s of attacks)")


if __name__ == "__main__":
    main()
