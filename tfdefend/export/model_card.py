"""Markdown model cards for the pretrained zoo, generated from the manifest.

Every figure on a card comes from a file that a command writes, and the card
names that command: the quality figures, their 95% intervals and the int8
fidelity from the zoo manifest (measured on the full test split by
`benchmarks/zoo_figures.py`, whose command the entry records as
`figures_command`; older entries: by the training command), the TFLite
latency figures from `benchmarks/results/export_latency.json` (written by
`benchmarks/export_latency.py`) when that file exists, else "not measured".
`scripts/write_model_cards.py` writes the cards to `tfdefend/models/zoo/cards/`
and, with `--readme`, the README's zoo table (`zoo_table`).
"""

import json
import os

from tfdefend.export._autoattack_lines import autoattack_lines
from tfdefend.models import list_models, model_info, zoo

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LATENCY_PATH = os.path.join(_REPO_ROOT, "benchmarks", "results", "export_latency.json")
LATENCY_COMMAND = "python benchmarks/export_latency.py --output benchmarks/results/export_latency.json"

# Manifest keys shown in the main table (everything else numeric is a further figure).
_STANDARD_KEYS = {"file", "sha256", "model", "kind", "dataset", "default", "clean_accuracy", "test_mse",
                  "test_psnr_db", "test_examples", "params", "size_bytes", "command", "versions",
                  "test_split", "ci95", "int8", "evaluated_in", "figures_command", "autoattack"}
# Readable labels of the further figures the zoo records (UDDN's pipeline); unknown keys keep their name.
_LABELS = {
    "defended_accuracy_clean": "Classifier accuracy behind this defense, clean test images",
    "defended_accuracy_fgsm": "Classifier accuracy behind this defense, FGSM test images",
    "undefended_accuracy_fgsm": "Classifier accuracy without the defense, FGSM test images",
    "test_l1_clean": "Mean L1 distance of the output to the clean image, clean input",
    "test_l1_fgsm": "Mean L1 distance of the output to the clean image, FGSM input",
    "rho2": "ρ₂: mean DeepFool ‖r‖₂ / ‖x‖₂ on correctly classified test images",
    "pgd_accuracy": "PGD L-inf accuracy at `pgd_eps`",
    "pgd_eps": "`pgd_eps` (L-inf budget of the PGD figure)",
    "eps_ref": "eps_ref: FGSM budget at which the Deep Defense model of this run falls to 50%",
}


def model_card(name, *, manifest_path=None, latency_path=None):
    """Returns the Markdown model card of zoo entry `name`.

    Args:
        name: A zoo entry (see `list_pretrained()`).
        manifest_path: The manifest to read; default the installed zoo's.
        latency_path: The export benchmark's JSON; default
            `benchmarks/results/export_latency.json` of the source tree
            (figures are "not measured" when it is absent or lacks `name`).

    Raises:
        ValueError: If `name` is not in the manifest.
    """
    manifest_path = manifest_path or zoo.MANIFEST_PATH
    manifest = zoo.read_manifest(manifest_path)
    if not isinstance(name, str) or name not in manifest:
        raise ValueError(f"Unknown pretrained model {name!r}; the zoo holds: "
                         f"{', '.join(sorted(manifest)) or 'nothing'}.")
    entry = manifest[name]
    kind = entry.get("kind", "classifier")
    lines = [f"# {name}", ""]
    if entry.get("model") in list_models():
        lines += [model_info(entry["model"])["description"], ""]
    rows = [("Model", f"`{entry.get('model', '?')}` ({kind})"), ("Data", _data_text(entry))]
    rows += _quality_rows(entry)
    if "int8" in entry:
        rows.append(("int8 .tflite vs the Keras model", _int8_text(entry["int8"])))
    if "params" in entry:
        rows.append(("Parameters", f"{entry['params']:,}"))
    rows.append(("File", _file_text(entry, os.path.dirname(os.path.abspath(manifest_path)))))
    if "sha256" in entry:
        rows.append(("sha256", f"`{entry['sha256']}`"))
    if kind == "classifier":
        rows.append(("Default classifier of its data set", "yes" if entry.get("default") else "no"))
        rows.append(("Defense (how it was trained)", f"`{entry.get('defense', 'none')}`"
                     + (f", fine-tuned from `{entry['finetuned_from']}`" if entry.get("finetuned_from") else "")))
    if entry.get("versions"):
        rows.append(("Trained with", ", ".join(f"{k} {v}" for k, v in sorted(entry["versions"].items()))))
    lines += _table(("property", "value"), rows)
    figures_by = ("Reproduce the weights with:" if entry.get("figures_command")
                  else "Reproduce the weights (and the figures above) with:")
    lines += ["", "## Training", "", figures_by, "", "```sh", entry.get("command", "(no command recorded)"),
              "```", ""]
    if entry.get("figures_command"):
        lines += ["The figures on this card were measured on the full test split by:", "", "```sh",
                  entry["figures_command"], "```", ""]
    lines += ["## Robustness", ""] + _robust_lines(entry) + [""]
    lines += ["## AutoAttack", ""] + autoattack_lines(entry) + [""]
    lines += ["## Deployment (TFLite / LiteRT)", ""] + _latency_lines(name, latency_path) + [""]
    lines += ["## Use", "", "```python", "from tfdefend.models import load_pretrained", "",
              f'model = load_pretrained("{name}")  # checks the sha256, loads with safe_mode', "```", "",
              "Export for TF Serving or the mobile app:", "", "```sh",
              f"tfdefend zoo export {name} --format saved_model --output {name}_savedmodel",
              f"tfdefend zoo export {name} --format tflite --quantize int8 --output {name}_int8.tflite",
              "```", ""]
    return "\n".join(lines)


def _table(header, rows):
    lines = [f"| {header[0]} | {header[1]} |", "|---|---|"]
    return lines + [f"| {key} | {value} |" for key, value in rows]


def _data_text(entry):
    text = f"`{entry['dataset']}`"
    if "test_examples" in entry:
        text += f", evaluated on {entry['test_examples']:,} test images"
        if entry.get("test_split"):
            text += f" (all of its {entry['test_split']})"
    return text


def _interval(ci):
    return f" (95% CI {100 * ci[0]:.2f}–{100 * ci[1]:.2f}%)" if ci else ""


def _ci_text(entry, key):
    """" (95% CI lo–hi%)" for an accuracy with a recorded interval, else ""."""
    return _interval(entry.get("ci95", {}).get(key))


def _int8_text(int8):
    examples = f" on {int8['examples']:,} test images" if "examples" in int8 else ""
    if "error" in int8:
        return f"not exported: {int8['error']}"
    if "top1_agreement" in int8:
        return (f"{100 * int8['top1_agreement']:.2f}% top-1 agreement{examples}{_interval(int8.get('ci95'))}"
                " (app bundle export, run in LiteRT)")
    return f"mean abs. output difference {int8['output_mae']:.2g}{examples} (int8 export, run in LiteRT)"


def _quality_rows(entry):
    rows = []
    if "clean_accuracy" in entry:
        accuracy = f"{100 * entry['clean_accuracy']:.2f}%{_ci_text(entry, 'clean_accuracy')}"
        rows.append(("Clean test accuracy", accuracy))
    if "test_mse" in entry:
        psnr = f" (PSNR {entry['test_psnr_db']:.2f} dB)" if "test_psnr_db" in entry else ""
        rows.append(("Test reconstruction MSE", f"{entry['test_mse']:.5f}{psnr}"))
    if not rows:
        rows.append(("Test quality", f"no figure of its own; evaluated through `{entry['evaluated_in']}`"
                     if entry.get("evaluated_in") else "not recorded in the manifest"))
    return rows


def _file_text(entry, zoo_dir):
    size = entry.get("size_bytes")
    path = os.path.join(zoo_dir, entry.get("file", ""))
    if size is None and entry.get("file") and os.path.isfile(path):
        size = os.path.getsize(path)
    size_text = f"{size:,} bytes ({size / 1024:.1f} KiB)" if size is not None else "size unknown"
    return f"`{entry.get('file', '?')}`, {size_text}"


def _flatten(prefix, value):
    if isinstance(value, dict):
        for key, inner in sorted(value.items()):
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield prefix, value


def _robust_lines(entry):
    figures = []
    for key in sorted(set(entry) - _STANDARD_KEYS):
        for flat_key, value in _flatten(key, entry[key]):
            label = _LABELS.get(flat_key, f"`{flat_key}`")
            text = f"{100 * value:.2f}%" if "accuracy" in flat_key and 0 <= value <= 1 else f"{value:g}"
            figures.append((label, text + _ci_text(entry, flat_key)))
    if not figures:
        return [("No robustness figures in the manifest entry (the zoo classifiers' attack tables are in "
                 "`benchmarks/results/zoo_robustness.json`, from `python benchmarks/zoo_robustness.py`).")]
    source = "Measured by the figures command above" if entry.get("figures_command") else \
        "Recorded by the training command above"
    return [f"{source}:", ""] + _table(("figure", "value"), figures)


def _load_latency(latency_path):
    path = latency_path or LATENCY_PATH
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _ms(value):
    return f"{value:.3f} ms" if isinstance(value, (int, float)) else "not measured"


def _fidelity(info):
    if "top1_agreement_with_keras" in info:
        return f"{100 * info['top1_agreement_with_keras']:.1f}% top-1 agreement"
    if "mean_abs_diff_to_keras" in info:
        return f"mean abs. difference {info['mean_abs_diff_to_keras']:.4f}"
    return "not measured"


def _latency_lines(name, latency_path):
    results = _load_latency(latency_path)
    row = (results or {}).get("models", {}).get(name)
    if row is None:
        return [f"TFLite size and latency: not measured (run `{LATENCY_COMMAND}`)."]
    lines = []
    if row.get("flops_per_image") is not None:
        method = results.get("flops_method", "TF profiler")
        lines.append(f"FLOPs per image: {row['flops_per_image']:,} ({method}).")
    if row.get("keras_ms") is not None:
        lines.append(f"Keras latency (batch 1, median): {_ms(row['keras_ms'])}.")
    if lines:
        lines.append("")
    rows = []
    for variant, info in sorted(row.get("tflite", {}).items()):
        if "error" in info:
            rows.append(f"| {variant} | not exported: {info['error']} | | | |")
        else:
            rows.append(f"| {variant} | {info['size_bytes']:,} bytes | {_ms(info.get('ms_1_thread'))} | "
                        f"{_ms(info.get('ms_2_threads'))} | {_ms(info.get('ms_1_thread_no_xnnpack'))} | "
                        f"{_fidelity(info)} |")
    if rows:
        head = "| .tflite | size | LiteRT latency, 1 thread | 2 threads | 1 thread, no XNNPACK | vs the Keras model |"
        lines += [head, "|---|---|---|---|---|---|", *rows, ""]
    machine = f" on {results['machine']}" if results.get("machine") else ""
    lines.append(f"Batch 1, median of {results.get('repeats', '?')} runs{machine}; measured by "
                 f"`{results.get('command', LATENCY_COMMAND)}`.")
    return lines


ZOO_TABLE_START = "<!-- zoo-table:start -->"
ZOO_TABLE_END = "<!-- zoo-table:end -->"
ZOO_FIGURES = "benchmarks/results/zoo_figures.json"
INT8_TARGET = 0.98
_KIND_ORDER = ("classifier", "preprocessor", "toolbox", "agent", "generator")


def _pct(value, ci=None):
    return f"{100 * value:.2f}%" + (f" ({100 * ci[0]:.2f}–{100 * ci[1]:.2f})" if ci else "")


def _table_quality(entry):
    ci = entry.get("ci95", {})
    if "clean_accuracy" in entry:
        return f"clean acc {_pct(entry['clean_accuracy'], ci.get('clean_accuracy'))}"
    if "test_mse" in entry:
        text = f"MSE {entry['test_mse']:.4g} ({entry['test_psnr_db']:.2f} dB)"
        if "defended_accuracy_clean" in entry:
            behind = _pct(entry["defended_accuracy_clean"], ci.get("defended_accuracy_clean"))
            text += f"; clean acc behind it {behind}"
        return text
    return f"see `{entry['evaluated_in']}`" if entry.get("evaluated_in") else "not recorded"


def _table_int8(int8):
    if not int8:
        return "–"
    if "error" in int8:
        return "not exported"
    if "top1_agreement" in int8:
        text = _pct(int8["top1_agreement"])
        return f"**{text}** top-1" if int8["top1_agreement"] < INT8_TARGET else f"{text} top-1"
    return f"MAE {int8['output_mae']:.2g}"


def _int8_summary(manifest):
    agreement = {n: e["int8"]["top1_agreement"] for n, e in manifest.items()
                 if "top1_agreement" in e.get("int8", {})}
    mae = [e["int8"]["output_mae"] for e in manifest.values() if "output_mae" in e.get("int8", {})]
    if not agreement:
        return []
    low, high = min(agreement.values()), max(agreement.values())
    short = sorted(n for n, v in agreement.items() if v < INT8_TARGET)
    text = (f"int8 (full-integer TFLite as the app bundle exports it, run in LiteRT) agrees with the Keras "
            f"model's top-1 on {_pct(low)} to {_pct(high)} of each classifier's test images; ")
    verb = "falls" if len(short) == 1 else "fall"
    text += (f"{len(short)} of {len(agreement)} classifiers {verb} short of {_pct(INT8_TARGET)}: "
             + ", ".join(f"`{n}` ({_pct(agreement[n])})" for n in short) if short
             else f"every classifier reaches {_pct(INT8_TARGET)}")
    if mae:
        text += (f". The preprocessors' int8 outputs differ from Keras' by a mean absolute {min(mae):.2g} to "
                 f"{max(mae):.2g}")
    return ["", text + "."]


def zoo_table(manifest_path=None):
    """The README's zoo table (Markdown, between `ZOO_TABLE_START` and `ZOO_TABLE_END`), from the manifest.

    One row per manifest entry: kind, data set, test images, the headline
    figure on the full test split with its 95% interval, the int8 fidelity,
    parameters and file size; then a sentence on int8 agreement and the
    commands that measured and wrote the figures.
    """
    manifest = zoo.read_manifest(manifest_path or zoo.MANIFEST_PATH)

    def order(name):
        kind = manifest[name].get("kind", "classifier")
        return (_KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER), name)

    lines = [f"<!-- figures: {ZOO_FIGURES} -->",
             "| name | kind | data | test images | quality on the full test split (95% CI) | int8 vs Keras "
             "| params | file size |", "|---|---|---|---|---|---|---|---|"]
    for name in sorted(manifest, key=order):
        entry = manifest[name]
        size = f"{entry['size_bytes'] / 1e6:.2f} MB" if "size_bytes" in entry else "?"
        lines.append(f"| `{name}` | {entry.get('kind', 'classifier')} | {entry['dataset']} | "
                     f"{entry.get('test_examples', 0):,} | {_table_quality(entry)} | "
                     f"{_table_int8(entry.get('int8'))} | {entry.get('params', 0):,} | {size} |")
    lines += _int8_summary(manifest)
    lines += ["", f"Measured on the full test split of each data set by `python benchmarks/zoo_figures.py` "
              f"(→ `{ZOO_FIGURES}`) and written into the manifest, the model cards and this table by "
              f"`python scripts/write_model_cards.py --figures {ZOO_FIGURES} --readme README.md`."]
    return "\n".join(lines)
