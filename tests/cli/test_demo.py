"""`tfdefend demo` says what it does before each phase and which clean accuracy is which."""

import json
import re

from tfdefend.cli.main import main


def test_demo_announces_each_phase_and_labels_both_clean_accuracies(tmp_path, capsys):
    output = tmp_path / "demo.keras"
    code = main(["demo", "--dataset", "digits", "--epochs", "2", "--limit", "48", "--eps", "0.1",
                 "--pgd-steps", "2", "--output", str(output), "--json", str(tmp_path / "table.json")])
    out = capsys.readouterr().out
    assert code == 0, out
    metrics = json.loads((tmp_path / "demo.json").read_text())
    phases = ["Loading digits", "Training small_cnn (classifier,", "Epoch 1/2", "Epoch 2/2",
              f"Measuring the clean accuracy on the full test set ({metrics['test_examples']} images)",
              f"clean accuracy {100 * metrics['clean_accuracy']:.2f}% on the full test set",
              "Loading the classifier",
              "Attacking the first 48 digits test images with FGSM, PGD-2 at L-inf eps 0.1",
              "Robustness on digits: the first 48 test images", "| clean |"]
    positions = [out.find(phase) for phase in phases]
    assert -1 not in positions and positions == sorted(positions), list(zip(phases, positions))
    rows = json.loads((tmp_path / "table.json").read_text())["rows"]
    note = re.search(r'The "clean" row is the accuracy on these 48 images; on the full test set '
                     r"\((\d+) images\) it is ([\d.]+)%", out)
    assert note and int(note.group(1)) == metrics["test_examples"] > 48
    assert float(note.group(2)) == round(100 * metrics["clean_accuracy"], 2)
    assert f"| clean | {100 * rows[0]['accuracy']:.1f}% |" in out  # the subset's, as the note says
    # Output is captured (not a terminal): one line per epoch, no progress bar redrawn with \r.
    assert "\r" not in out and "\x08" not in out
