"""`tfdefend models`, `datasets`, `zoo list` and `zoo show`: tables read without TensorFlow.

The registry's names come from `tfdefend.models.model_index`, the zoo from
its JSON manifest and the data sets from the catalog, so these commands
answer in a fraction of a second instead of starting TensorFlow.
"""

import json
import textwrap

WIDTH = 100  # of the footnotes
DEFENSES = (
    ("none", "standard training on clean images"),
    ("pgd-at", "PGD adversarial training (Madry et al. 2018)"),
    ("trades", "TRADES (Zhang et al. 2019): clean CE + beta * KL(clean || adversarial)"),
    ("fast-at", "fast adversarial training (Wong et al. 2020): FGSM from a random start"),
    ("mart", "MART (Wang et al. 2020): misclassification-aware adversarial training"),
    ("deepdefense", "Deep Defense (Yan et al. 2018): an adversarial-perturbation regularizer in the loss"),
    ("knowledge-transfer", "UDDN's student: distilled from the original classifier on denoised images"),
    ("-", "not a classifier: a preprocessing defense or a part of one"),
)


def format_rows(header, rows):
    """Left-aligned columns (two spaces apart) under a header row; returns the lines."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in [header, *rows]]


def models_text():
    """The `tfdefend models` table: name, kind and description of every registered model."""
    from tfdefend.models.model_index import model_index

    return "\n".join(format_rows(("NAME", "KIND", "DESCRIPTION"), model_index()) + [
        "", "Build one with tfdefend.models.create_model(NAME, **overrides), or train one with "
        "`tfdefend train --model NAME`."])


def datasets_text():
    """The `tfdefend datasets` table: name, image shape, classes and description."""
    from tfdefend.data import dataset_info, list_datasets

    rows = []
    for name in list_datasets():
        spec = dataset_info(name)
        rows.append((name, "x".join(str(d) for d in spec.image_shape), spec.num_classes, spec.description))
    return "\n".join(format_rows(("NAME", "IMAGE", "CLASSES", "DESCRIPTION"), rows))


def zoo_list_text():
    """The `tfdefend zoo list` table, with a footnote that explains the DEFENSE and RESULT columns."""
    from tfdefend.models.zoo import list_pretrained, pretrained_info

    rows = []
    for name in list_pretrained():
        entry = pretrained_info(name)
        kind = entry.get("kind", "classifier")
        tested = entry.get("test_examples")
        rows.append((name, kind, entry.get("defense", "-"), entry["dataset"], _result(entry),
                     f"{tested:,}" if isinstance(tested, int) else "-", autoattack_text(entry)))
    lines = format_rows(("NAME", "KIND", "DEFENSE", "DATASET", "RESULT", "TEST IMAGES", "AUTOATTACK"), rows)
    width = max(len(key) for key, _ in DEFENSES)
    lines += ["", "DEFENSE (how a classifier was trained):"]
    lines += [f"  {key.ljust(width)}  {meaning}" for key, meaning in DEFENSES]
    lines += textwrap.wrap("RESULT, on TEST IMAGES images of DATASET's test split: the clean accuracy "
                           "(classifiers), the PSNR of the output against the clean input (preprocessors), "
                           "or the parameter count (the parts of the RL chain, the GNR generator).", WIDTH)
    lines += textwrap.wrap("AUTOATTACK: robust accuracy under the standard AutoAttack (APGD-CE, APGD-T, FAB-T, "
                           "Square) at the budget shown, on n test images (a preprocessor: in front of its "
                           "data set's default classifier, attacked through BPDA where its gradients are "
                           "useless); `-` if not measured (`tfdefend leaderboard`).", WIDTH)
    lines += textwrap.wrap("Everything about an entry (every figure, the command that reproduces it, the "
                           "sha256): `tfdefend zoo show NAME`; its model card: `tfdefend zoo card NAME`.",
                           WIDTH)
    return "\n".join(lines)


def zoo_show_text(name):
    """The manifest entry of zoo model `name` as indented JSON."""
    from tfdefend.models.zoo import pretrained_info

    return json.dumps(pretrained_info(name), indent=2)


def autoattack_text(entry):
    """The headline AutoAttack record of a manifest entry in a few characters, or "-"."""
    records = [r for r in entry.get("autoattack") or [] if r.get("attack", "").startswith("AutoAttack")]
    if not records:
        return "-"
    best = sorted(records, key=lambda r: (r["norm"] != "inf", -r["n"]))[0]
    norm = "Linf" if best["norm"] == "inf" else "L2"
    return f"{100 * best['robust_accuracy']:.2f}% {norm} {best['eps']:g} n={best['n']:,}"


def _result(entry):
    if "clean_accuracy" in entry:
        return f"{100 * entry['clean_accuracy']:.2f}% clean"
    if "test_psnr_db" in entry:
        return f"PSNR {entry['test_psnr_db']:.2f} dB"
    return f"{entry.get('params', 0):,} params"
