"""Writes the Markdown model card of every zoo entry to `tfdefend/models/zoo/cards/NAME.md`.

Usage (from the repository root, in the installed environment, after
`scripts/build_zoo.py`, `benchmarks/zoo_figures.py` and optionally
`benchmarks/export_latency.py`):
    python scripts/write_model_cards.py [--only NAME ...] [--output-dir DIR]
        [--latency benchmarks/results/export_latency.json]
        [--figures benchmarks/results/zoo_figures.json] [--readme README.md]

Each card is `tfdefend.export.model_card(NAME)` (also printed by
`tfdefend zoo card NAME`), written atomically; cards of entries no longer in
the zoo are left alone.

`--figures FILE` first writes the figures `benchmarks/zoo_figures.py`
measured on the full test splits into the manifest (atomically): for each
entry of FILE whose sha256 is the manifest's, its figures, `test_examples`,
`test_split`, `ci95` (95% Wilson intervals of the accuracies), `int8`
(fidelity of the int8 export), `evaluated_in` (parts without figures) and
`figures_command`. The weights, sha256 and training command are not
touched; an entry whose weights changed since the measurement, or a figure
of the manifest the measurement lacks, stops the script with an error.

`--autoattack FILE [FILE ...]` writes the AutoAttack records of
`tfdefend leaderboard` results (leaderboard_NORM.json) into the manifest
entries whose weights they measured (`autoattack`: attack, threat, eps,
norm, n, clean and robust accuracy, results file).

`--readme FILE` replaces the zoo table of the README (between
`<!-- zoo-table:start -->` and `<!-- zoo-table:end -->`) with
`tfdefend.export.model_card.zoo_table()`.
"""

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tfdefend.export import model_card
from tfdefend.export.model_card import ZOO_TABLE_END, ZOO_TABLE_START, zoo_table
from tfdefend.models import zoo
from tfdefend.models.zoo import ZOO_DIR, list_pretrained
from tfdefend.utils import atomic_write_text

CARDS_DIR = os.path.join(ZOO_DIR, "cards")
# Manifest keys that are settings or facts of the file, not measured figures.
NOT_FIGURES = {"params", "size_bytes", "pgd_eps", "test_examples", "int8"}


def _figure_keys(entry):
    """The manifest keys of `entry` that hold a measured figure (a number, or a dict of numbers)."""
    def numeric(value):
        if isinstance(value, dict):
            return bool(value) and all(numeric(v) for v in value.values())
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    return {key for key, value in entry.items() if key not in NOT_FIGURES and numeric(value)}


def measured_entry(name, entry, row):
    """`entry` with the figures of its `zoo_figures.json` row `row`.

    Raises:
        ValueError: If the row measured other weights (sha256) or lacks a figure the entry holds.
    """
    if row.get("sha256") != entry.get("sha256"):
        raise ValueError(f"{name}: the figures were measured on weights with sha256 {row.get('sha256')}, "
                         f"the manifest holds {entry.get('sha256')}; rerun "
                         f"`python benchmarks/zoo_figures.py --only {name}`.")
    figures = row.get("figures", {})
    missing = sorted(_figure_keys(entry) - set(figures))
    if missing:
        raise ValueError(f"{name}: the manifest figures {missing} were not measured; rerun "
                         f"`python benchmarks/zoo_figures.py --only {name}`.")
    updated = {**entry, **figures, "test_examples": row["test_examples"], "test_split": row["split_kind"]}
    for key in ("ci95", "evaluated_in"):
        updated.pop(key, None)
        if row.get(key):
            updated[key] = row[key]
    updated.pop("int8", None)
    if row.get("int8"):
        updated["int8"] = {key: row["int8"][key] for key in ("top1_agreement", "ci95", "output_mae", "error",
                                                             "examples") if key in row["int8"]}
    if row.get("command"):
        updated["figures_command"] = row["command"]
    return updated


def apply_figures(figures_path, manifest_path=None):
    """Writes the figures of `figures_path` (benchmarks/zoo_figures.py's JSON) into the manifest.

    Returns:
        The names of the entries updated.
    """
    manifest_path = manifest_path or zoo.MANIFEST_PATH
    manifest = zoo.read_manifest(manifest_path)
    with open(figures_path, encoding="utf-8") as handle:
        rows = json.load(handle)["models"]
    updated = sorted(set(rows) & set(manifest))
    for name in updated:
        manifest[name] = measured_entry(name, manifest[name], rows[name])
    atomic_write_text(manifest_path, json.dumps({"models": manifest}, indent=2, sort_keys=True) + "\n")
    return updated


def _autoattack_target(row, manifest):
    """(zoo entry, record) for one leaderboard row, or None if the row is not about a zoo entry's weights."""
    name = row["name"]
    artifact = ""
    if row["kind"] == "tflite":
        name, artifact = name.removesuffix(" (int8 TFLite)"), " (int8 TFLite)"
    if " + " in name:  # a preprocessor in front of another classifier (the threat names it)
        name = name.split(" + ", 1)[0]
    entry = manifest.get(name)
    if entry is None or not row.get("fingerprint", "").startswith(entry.get("sha256", "?")):
        return None
    attack = ("Square, 8-bit inputs, in LiteRT" + artifact if row["kind"] == "tflite"
              else f"AutoAttack ({row['version']})")
    record = {"attack": attack, "threat": row["threat"], "eps": row.get("eps_used", row["eps"]), "norm": row["norm"],
              "n": row["n"], "clean_accuracy": round(row["clean_accuracy"], 4),
              "robust_accuracy": round(row["robust_accuracy"], 4)}
    return name, record


def _leaderboard_command(result, output_dir):
    """The `tfdefend leaderboard` command that wrote `result` (its settings are in the file)."""
    command = f"tfdefend leaderboard --dataset {result['dataset']} --norm {result['norm']} --eps {result['eps']:g}"
    defaults = {"steps": 100, "queries": 5000, "check_n": 500, "seed": 0}
    for key, default in defaults.items():
        if result.get(key, default) != default:
            command += f" --{key.replace('_', '-')} {result[key]}"
    if result.get("n_examples", result["n"]) is not None:  # None: the whole test split
        command += f" --n-examples {result['n']}"
    return command + f" --output {output_dir}"


def apply_autoattack(paths, manifest_path=None):
    """Writes the `autoattack` records of leaderboard JSONs (`tfdefend leaderboard`) into the manifest.

    Rows measured on other weights than the manifest's (their fingerprint
    does not start with the entry's sha256) are skipped. Per entry and
    (attack, threat, norm, eps), the record with the most test images wins.

    Returns:
        The names of the entries updated.
    """
    manifest_path = manifest_path or zoo.MANIFEST_PATH
    manifest = zoo.read_manifest(manifest_path)
    found = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            result = json.load(handle)
        rows = result["rows"]
        source = os.path.relpath(os.path.abspath(path), ROOT)
        command = _leaderboard_command(result, os.path.dirname(source))
        for row in rows:
            target = _autoattack_target(row, manifest)
            if target is None:
                continue
            name, record = target
            key = (record["attack"], record["threat"], record["norm"], record["eps"])
            best = found.setdefault(name, {}).get(key)
            if best is None or record["n"] > best["n"]:
                found[name][key] = {**record, "results": source, "command": command}
    for name, records in found.items():
        manifest[name]["autoattack"] = sorted(records.values(), key=lambda r: (r["norm"] != "inf", r["attack"],
                                                                                r["threat"]))
    atomic_write_text(manifest_path, json.dumps({"models": manifest}, indent=2, sort_keys=True) + "\n")
    return sorted(found)


def write_readme_table(readme_path, manifest_path=None):
    """Replaces the text between the zoo-table markers of `readme_path` with `zoo_table()`."""
    with open(readme_path, encoding="utf-8") as handle:
        text = handle.read()
    start, end = text.find(ZOO_TABLE_START), text.find(ZOO_TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"{readme_path} has no {ZOO_TABLE_START} ... {ZOO_TABLE_END} block.")
    block = f"{ZOO_TABLE_START}\n{zoo_table(manifest_path)}\n{ZOO_TABLE_END}"
    atomic_write_text(readme_path, text[:start] + block + text[end + len(ZOO_TABLE_END):])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=None, help="zoo entries (default: all)")
    parser.add_argument("--output-dir", default=CARDS_DIR)
    parser.add_argument("--latency", default=None,
                        help="the export benchmark's JSON (default: benchmarks/results/export_latency.json)")
    parser.add_argument("--figures", default=None,
                        help="first write the figures of benchmarks/zoo_figures.py's JSON into the manifest")
    parser.add_argument("--readme", default=None, help="also rewrite this README's zoo table")
    parser.add_argument("--autoattack", nargs="+", default=None, metavar="LEADERBOARD_JSON",
                        help="first write the AutoAttack records of these `tfdefend leaderboard` results "
                        "into the manifest")
    args = parser.parse_args(argv)
    if args.figures:
        for name in apply_figures(args.figures):
            print(f"figures of {name} written into the manifest", flush=True)
    if args.autoattack:
        for name in apply_autoattack(args.autoattack):
            print(f"AutoAttack records of {name} written into the manifest", flush=True)
    written = []
    for name in args.only or list_pretrained():
        path = os.path.join(args.output_dir, f"{name}.md")
        atomic_write_text(path, model_card(name, latency_path=args.latency))
        written.append(path)
        print(f"wrote {path}", flush=True)
    if args.readme:
        write_readme_table(args.readme)
        print(f"wrote the zoo table of {args.readme}", flush=True)
    return written


if __name__ == "__main__":
    main()
