"""`tfdefend leaderboard`: a small real run on the zoo, its files, the row cache and clear errors."""

import json

import pytest

from tests.conftest import require_dataset
from tfdefend.cli.leaderboard_job import entry_names
from tfdefend.cli.main import main

ENTRIES = ["small_cnn_fashion_mnist", "jpeg_q75", "small_cnn_fashion_mnist (int8 TFLite)"]
FAST = ["--n-examples", "24", "--steps", "3", "--queries", "20", "--check-n", "8"]


def test_entry_names_cover_every_zoo_classifier_and_defense():
    names = entry_names("fashion_mnist")
    for name in ("small_cnn_fashion_mnist", "small_cnn_f16_pgd_at_fashion_mnist", "comdefend_fashion_mnist",
                 "comdefend_residual_fashion_mnist", "dae_fashion_mnist", "uddn_fashion_mnist",
                 "uddn_fashion_mnist + uddn_student_fashion_mnist", "rl_chain_fashion_mnist", "jpeg_q75",
                 "bit_depth_4", "median_2x2", "small_cnn_f16_pgd_at_fashion_mnist (int8 TFLite)"):
        assert name in names
    assert not any("int8" in n for n in entry_names("fashion_mnist", include_tflite=False))


def test_small_run_writes_markdown_json_plot_and_resumes(tmp_path, capsys):
    require_dataset("fashion_mnist")
    out = tmp_path / "board"
    assert main(["leaderboard", "--only", *ENTRIES, *FAST, "--output", str(out)]) == 0
    text = capsys.readouterr().out
    result = json.loads((out / "leaderboard_inf.json").read_text())
    assert result["n"] == 24 and result["eps"] == 0.1 and {r["name"] for r in result["rows"]} == set(ENTRIES)
    for row in result["rows"]:
        assert 0.0 <= row["robust_accuracy"] <= row["clean_accuracy"] <= 1.0
    jpeg = next(r for r in result["rows"] if r["name"] == "jpeg_q75")
    assert jpeg["threat"].startswith("BPDA (identity)") and jpeg["masking"]["n"] == 8
    assert (out / "leaderboard_inf.png").stat().st_size > 1000
    assert "AutoAttack leaderboard, fashion_mnist, L-inf eps = 0.1" in text and "jpeg_q75" in text
    assert len(list((out / "rows").iterdir())) == 3
    assert main(["leaderboard", "--only", "jpeg_q75", *FAST, "--output", str(out)]) == 0
    assert "jpeg_q75: read back" in capsys.readouterr().out
    assert main(["leaderboard", "--only", "jpeg_q75", "median_2x2", *FAST, "--report-only", "--no-tflite",
                 "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "median_2x2: not measured yet" in text and "1 of 2 entries measured so far" in text
    assert not any("median" in p.name for p in (out / "rows").iterdir())
    assert main(["leaderboard", "--only", "median_2x2", *FAST, "--report-only", "--output", str(out)]) == 2
    assert "No leaderboard row" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--norm", "l2"], "--eps"),
    (["--only", "no_such_entry"], "Unknown leaderboard entries"),
    (["--dataset", "no_such_data"], "no_such_data"),
    (["--n-examples", "0"], "--n-examples"),
])
def test_clear_errors(argv, message, tmp_path, capsys):
    assert main(["leaderboard", *argv, "--output", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
