"""The zoo's published figures: on the full test split, with intervals, as measured, and in the README.

`benchmarks/zoo_figures.py` measures every figure on the full test split
(`benchmarks/results/zoo_figures.json`); `scripts/write_model_cards.py
--figures ... --readme README.md` writes them into the manifest, the cards
and the README's zoo table. These tests check that the three agree.
"""

import importlib.util
import json
import math
import os

import pytest

from tests.conftest import require_dataset
from tfdefend import data
from tfdefend.export import model_card
from tfdefend.export.model_card import ZOO_TABLE_END, ZOO_TABLE_START, zoo_table
from tfdefend.models import zoo

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZOO_FIGURES = os.path.join(ROOT, "benchmarks", "results", "zoo_figures.json")
NAMES = zoo.list_pretrained()


def _rows():
    with open(ZOO_FIGURES, encoding="utf-8") as handle:
        return json.load(handle)["models"]


def _wilson(correct, n, z=1.959963984540054):
    """The 95% Wilson score interval, written out independently of the benchmark."""
    p = correct / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return centre - half, centre + half


def _accuracies(entry):
    """{flat key: value} of the accuracy figures of a manifest entry."""
    found = {}
    for key, value in entry.items():
        if "accuracy" not in key:
            continue
        if isinstance(value, dict):
            found.update({f"{key}.{sub}": v for sub, v in value.items()})
        elif isinstance(value, float):
            found[key] = value
    return found


def _load_script():
    spec = importlib.util.spec_from_file_location("write_model_cards",
                                                  os.path.join(ROOT, "scripts", "write_model_cards.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_readme_zoo_table_is_generated_from_the_manifest():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    start, end = readme.find(ZOO_TABLE_START), readme.find(ZOO_TABLE_END)
    assert 0 <= start < end, "README.md has no zoo-table markers"
    shown = readme[start + len(ZOO_TABLE_START):end].strip()
    assert shown == zoo_table().strip(), ("the README's zoo table is stale: run `python scripts/"
                                          "write_model_cards.py --readme README.md`")
    listed = [line.split("|")[1].strip().strip("`") for line in shown.splitlines()
              if line.startswith("| `")]
    assert sorted(listed) == NAMES  # every entry, once


@pytest.mark.parametrize("dataset", sorted({zoo.pretrained_info(n)["dataset"] for n in NAMES}))
def test_every_entry_states_the_full_test_split(dataset):
    require_dataset(dataset)
    _, y = data.load(dataset, "test", as_numpy=True)
    for name in zoo.list_pretrained(dataset=dataset):
        entry = zoo.pretrained_info(name)
        assert entry["test_examples"] == len(y), name
        assert entry["test_split"]
        if entry["kind"] not in ("classifier", "preprocessor"):  # parts: evaluated through their pipeline
            assert zoo.pretrained_info(entry["evaluated_in"])["test_examples"] == len(y)


@pytest.mark.parametrize("name", NAMES)
def test_manifest_figures_are_the_measured_ones(name):
    entry, row = zoo.pretrained_info(name), _rows()[name]
    assert row["sha256"] == entry["sha256"], f"{name}: zoo_figures.json measured other weights"
    assert row["test_examples"] == entry["test_examples"]
    for key, value in row.get("figures", {}).items():
        assert entry[key] == value, f"{name}.{key}"
    assert (entry.get("ci95") or {}) == (row.get("ci95") or {})
    assert entry.get("figures_command") == row.get("command")
    if entry["kind"] in ("classifier", "preprocessor"):
        assert entry["int8"]["examples"] == row["int8"]["examples"] == entry["test_examples"]
        measured = {k: v for k, v in row["int8"].items() if k in entry["int8"]}
        assert measured == entry["int8"]


@pytest.mark.parametrize("name", NAMES)
def test_every_accuracy_has_its_wilson_interval(name):
    entry = zoo.pretrained_info(name)
    n = entry["test_examples"]
    accuracies = _accuracies(entry)
    assert set(accuracies) <= set(entry.get("ci95", {})), f"{name}: accuracies without an interval"
    for key, value in accuracies.items():
        lo, hi = entry["ci95"][key]
        assert lo <= value <= hi
        assert (lo, hi) == pytest.approx(_wilson(round(value * n), n), abs=1e-4)
    int8 = entry.get("int8", {})
    if "top1_agreement" in int8:
        assert tuple(int8["ci95"]) == pytest.approx(_wilson(round(int8["top1_agreement"] * n), n), abs=1e-4)


def test_small_splits_show_their_interval_in_the_card_and_readme():
    table = zoo_table()
    entries = {n: zoo.pretrained_info(n) for n in NAMES}
    small = [n for n, e in entries.items() if e["test_examples"] < 2000 and _accuracies(e)]
    assert small  # lfw_subset (40), digits (359), mnist (1,000), photo_patches (1,350)
    for name in small:
        entry = zoo.pretrained_info(name)
        key, value = sorted(_accuracies(entry).items())[0]
        lo, hi = entry["ci95"][key]
        assert f"95% CI {100 * lo:.2f}–{100 * hi:.2f}%" in model_card(name), name
        if "clean_accuracy" in entry:
            row = next(line for line in table.splitlines() if line.startswith(f"| `{name}` |"))
            assert f"{100 * entry['clean_accuracy']:.2f}% ({100 * lo:.2f}–{100 * hi:.2f})" in row


def test_apply_figures_writes_only_measured_figures(tmp_path):
    script = _load_script()
    entry = {"sha256": "ab" * 32, "file": "toy.keras", "kind": "classifier", "dataset": "digits",
             "clean_accuracy": 0.5, "test_examples": 10, "params": 7, "command": "tfdefend train ..."}
    row = {"sha256": "ab" * 32, "test_examples": 359, "split_kind": "seeded split",
           "figures": {"clean_accuracy": 0.9777},
           "ci95": {"clean_accuracy": [0.9567, 0.9887]}, "command": "python benchmarks/zoo_figures.py",
           "int8": {"top1_agreement": 0.99, "ci95": [0.97, 0.997], "examples": 359, "seconds": 3.0}}
    manifest, figures = tmp_path / "manifest.json", tmp_path / "zoo_figures.json"
    manifest.write_text(json.dumps({"models": {"toy": entry}}))
    figures.write_text(json.dumps({"models": {"toy": row}}))
    assert script.apply_figures(str(figures), str(manifest)) == ["toy"]
    written = json.loads(manifest.read_text())["models"]["toy"]
    assert written["clean_accuracy"] == 0.9777 and written["test_examples"] == 359
    for key in ("sha256", "params", "command", "file"):
        assert written[key] == entry[key]
    assert written["int8"] == {"top1_agreement": 0.99, "ci95": [0.97, 0.997], "examples": 359}
    assert written["figures_command"] == row["command"] and written["test_split"] == "seeded split"
    figures.write_text(json.dumps({"models": {"toy": {**row, "sha256": "cd" * 32}}}))
    with pytest.raises(ValueError, match="other weights|sha256"):
        script.apply_figures(str(figures), str(manifest))
    figures.write_text(json.dumps({"models": {"toy": {**row, "figures": {}}}}))
    with pytest.raises(ValueError, match="clean_accuracy"):
        script.apply_figures(str(figures), str(manifest))


def test_write_readme_table_replaces_only_the_marked_block(tmp_path):
    script = _load_script()
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{ZOO_TABLE_START}\nold table\n{ZOO_TABLE_END}\nafter\n")
    script.write_readme_table(str(readme))
    text = readme.read_text()
    assert text.startswith("# title\n\nbefore\n") and text.endswith(f"{ZOO_TABLE_END}\nafter\n")
    assert "old table" not in text and zoo_table() in text
    readme.write_text("no markers\n")
    with pytest.raises(ValueError, match="zoo-table"):
        script.write_readme_table(str(readme))


def test_apply_autoattack_records_only_rows_of_these_weights(tmp_path):
    script = _load_script()
    sha = "ab" * 32
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"models": {
        "toy": {"sha256": sha, "file": "toy.keras", "kind": "classifier", "dataset": "digits",
                "clean_accuracy": 0.9, "test_examples": 10, "params": 7, "command": "c"},
        "pre": {"sha256": "ef" * 32, "file": "pre.keras", "kind": "preprocessor", "dataset": "digits",
                "test_examples": 10, "params": 7, "command": "c"}}}))
    row = {"name": "toy", "kind": "classifier", "threat": "white-box, own gradients", "fingerprint": sha,
           "n": 100, "eps": 0.1, "norm": "inf", "version": "standard", "clean_accuracy": 0.9,
           "robust_accuracy": 0.31234}
    rows = [row, {**row, "n": 1000, "robust_accuracy": 0.3},
            {**row, "name": "toy (int8 TFLite)", "kind": "tflite", "eps_used": 25 / 255, "fingerprint": sha + "int8"},
            {**row, "name": "pre", "kind": "defense", "fingerprint": "00" * 32}]  # other weights: skipped
    results = tmp_path / "leaderboard_inf.json"
    results.write_text(json.dumps({"dataset": "digits", "norm": "inf", "eps": 0.1, "n": 1000, "n_examples": None,
                                   "steps": 100, "queries": 5000, "check_n": 200, "seed": 0, "rows": rows}))
    assert script.apply_autoattack([str(results)], str(manifest)) == ["toy"]
    written = json.loads(manifest.read_text())["models"]
    assert "autoattack" not in written["pre"]
    records = written["toy"]["autoattack"]
    assert [(r["attack"], r["n"], r["robust_accuracy"]) for r in records] == [
        ("AutoAttack (standard)", 1000, 0.3), ("Square, 8-bit inputs, in LiteRT (int8 TFLite)", 100, 0.3123)]
    assert records[1]["eps"] == pytest.approx(25 / 255)
    assert records[0]["command"] == (f"tfdefend leaderboard --dataset digits --norm inf --eps 0.1 --check-n 200 "
                                     f"--output {os.path.relpath(str(tmp_path), ROOT)}")
    card = model_card("toy", manifest_path=str(manifest))
    assert "## AutoAttack" in card and "**30.00%**" in card and "1,000" in card

    from tfdefend.cli.listing import autoattack_text

    assert autoattack_text(written["toy"]) == "30.00% Linf 0.1 n=1,000"
    assert autoattack_text(written["pre"]) == "-"
