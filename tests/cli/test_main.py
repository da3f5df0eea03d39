import json
import subprocess
import sys

import keras

from tfdefend.cli.main import main


def test_train_then_evaluate(tmp_path, capsys):
    out = tmp_path / "digits.keras"
    code = main(["train", "--model", "small_cnn", "--dataset", "digits", "--epochs", "8",
                 "--batch-size", "64", "--output", str(out)])
    assert code == 0 and out.exists()
    metrics = json.loads((tmp_path / "digits.json").read_text())
    assert metrics["dataset"] == "digits" and metrics["clean_accuracy"] > 0.8
    assert metrics["command"].startswith("tfdefend train --model small_cnn")
    assert keras.models.load_model(out).count_params() == metrics["params"]
    capsys.readouterr()
    table_json = tmp_path / "table.json"
    code = main(["evaluate", "--model-file", str(out), "--dataset", "digits", "--limit", "64",
                 "--eps", "0.1", "--pgd-steps", "5", "--json", str(table_json)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "| clean |" in printed and "| PGD-5 eps=0.1 |" in printed
    rows = json.loads(table_json.read_text())["rows"]
    assert rows[0]["n"] == 64 and rows[2]["accuracy"] < rows[0]["accuracy"]


def test_errors_are_clear(tmp_path, capsys):
    code = main(["train", "--model", "nope", "--dataset", "digits", "--output", str(tmp_path / "m.keras")])
    assert code == 2
    assert "Unknown model name 'nope'" in capsys.readouterr().err
    assert main(["evaluate", "--pretrained", "nope", "--dataset", "digits"]) == 2
    assert "zoo holds" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_listing_commands(capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "DESCRIPTION"]
    assert next(line for line in lines if line.startswith("small_cnn ")).split()[1] == "classifier"
    assert main(["datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "IMAGE", "CLASSES", "DESCRIPTION"]
    assert next(line for line in lines if line.startswith("photo_patches ")).split()[1:3] == ["32x32x3", "9"]


def test_zoo_list_has_a_header_aligned_columns_and_explains_the_defense_column(capsys):
    from tfdefend.models import list_pretrained, pretrained_info

    assert main(["zoo", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0]
    assert header.split() == ["NAME", "KIND", "DEFENSE", "DATASET", "RESULT", "TEST", "IMAGES", "AUTOATTACK"]
    rows = lines[1:lines.index("")]
    assert [row.split()[0] for row in rows] == list_pretrained()  # every entry, one row each
    starts = [header.index(column) for column in ("KIND", "DEFENSE", "DATASET", "RESULT", "TEST IMAGES",
                                                  "AUTOATTACK")]
    for row in rows:  # every cell starts under its column's title
        entry = pretrained_info(row.split()[0])
        cells = [entry.get("kind", "classifier"), entry.get("defense", "-"), entry["dataset"]]
        assert [row[start:].split()[0] for start in starts[:3]] == cells
        tested = entry.get("test_examples")
        assert row[starts[4]:starts[5]].strip() == (f"{tested:,}" if tested is not None else "-")
        records = entry.get("autoattack") or []
        if not records:
            assert row[starts[5]:].strip() == "-"
        else:  # the L-inf AutoAttack record with the most images
            best = max((r for r in records if r["norm"] == "inf"), key=lambda r: r["n"])
            assert row[starts[5]:].split()[:2] == [f"{100 * best['robust_accuracy']:.2f}%", "Linf"]
        assert row[starts[3] - 2:starts[3]] == "  "
    accuracy = 100 * pretrained_info("small_cnn_digits")["clean_accuracy"]
    row = next(row for row in rows if row.startswith("small_cnn_digits "))
    assert row.split()[1:5] == ["classifier", "none", "digits", f"{accuracy:.2f}%"]
    footnote = lines[lines.index("") + 1:]
    defenses = {row.split()[2] for row in rows}
    assert {"none", "pgd-at", "deepdefense", "knowledge-transfer", "-"} <= defenses
    for defense in defenses:  # each value in the column is explained under the table
        assert any(line.split()[:1] == [defense] and len(line.split()) > 3 for line in footnote), defense


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "tfdefend.cli.main", "--help"],
                            capture_output=True, text=True, check=True)
    assert "train" in result.stdout and "demo" in result.stdout


def test_train_preprocessor_with_overrides(tmp_path, capsys):
    out = tmp_path / "cd.keras"
    code = main(["train", "--model", "comdefend", "--dataset", "digits", "--epochs", "1", "--limit", "128",
                 "--set", "code_channels=4", "--set", "comcnn_filters=[8, 8]", "--set", "rescnn_filters=[8, 8]",
                 "--output", str(out)])
    assert code == 0
    metrics = json.loads((tmp_path / "cd.json").read_text())
    assert metrics["kind"] == "preprocessor" and metrics["overrides"]["code_channels"] == 4
    assert 0 < metrics["test_mse"] < 1 and "reconstruction MSE" in capsys.readouterr().out
    restored = keras.models.load_model(out, safe_mode=True)
    assert restored.code_channels == 4
    assert main(["train", "--model", "comdefend", "--dataset", "digits", "--set", "oops",
                 "--output", str(out)]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_train_uddn_writes_three_models_with_metrics(tmp_path, capsys):
    classifier = tmp_path / "clf.keras"
    assert main(["train", "--model", "small_cnn", "--dataset", "digits", "--epochs", "4",
                 "--set", "filters=8", "--output", str(classifier)]) == 0
    capsys.readouterr()
    outputs = {key: tmp_path / f"{key}.keras" for key in ("uddn", "gen", "student")}
    code = main(["train-uddn", "--dataset", "digits", "--classifier", str(classifier),
                 "--output", str(outputs["uddn"]), "--generator-output", str(outputs["gen"]),
                 "--student-output", str(outputs["student"]), "--real-count", "64", "--gnr-count", "64",
                 "--gan-epochs", "1", "--uddn-epochs", "1", "--distill-epochs", "1", "--eps", "0.2"])
    printed = capsys.readouterr().out
    assert code == 0 and "L1 to clean" in printed
    for path in outputs.values():
        assert keras.models.load_model(path, safe_mode=True) is not None
    metrics = json.loads((tmp_path / "uddn.json").read_text())
    assert metrics["kind"] == "preprocessor" and metrics["real_count"] == 64 and metrics["eps"] == 0.2
    assert metrics["command"].startswith("tfdefend train-uddn")
    assert json.loads((tmp_path / "student.json").read_text())["kind"] == "classifier"
    assert json.loads((tmp_path / "gen.json").read_text())["kind"] == "generator"
