import importlib.util
import json
import os

import pytest

from tfdefend.export import model_card
from tfdefend.models import list_pretrained, pretrained_info

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MANIFEST = {"models": {
    "small_cnn_toy": {
        "clean_accuracy": 0.9777, "command": "tfdefend train --model small_cnn --dataset digits --epochs 40",
        "dataset": "digits", "default": True, "file": "small_cnn_toy.keras", "kind": "classifier",
        "model": "small_cnn", "params": 99178, "sha256": "ab" * 32, "size_bytes": 430284,
        "test_examples": 359, "versions": {"keras": "3.15.1", "tensorflow": "2.21.0"},
    },
    "uddn_toy": {
        "command": "tfdefend train-uddn --dataset fashion_mnist --classifier small_cnn_fashion_mnist",
        "dataset": "fashion_mnist", "file": "uddn_toy.keras", "kind": "preprocessor", "model": "uddn",
        "params": 1234, "sha256": "cd" * 32, "test_examples": 2000, "test_mse": 0.002022,
        "test_psnr_db": 27.42,
        "defended_accuracy_fgsm": 0.6512, "test_l1_fgsm": 0.0412, "robustness": {"pgd_accuracy": 0.4},
    },
}}

LATENCY = {
    "command": "python benchmarks/export_latency.py --repeats 50", "repeats": 50, "machine": "toy CPU",
    "flops_method": "TF profiler", "models": {
        "small_cnn_toy": {
            "kind": "classifier", "params": 99178, "flops_per_image": 1234567, "keras_ms": 0.75,
            "tflite": {"float": {"size_bytes": 399000, "ms_1_thread": 0.0412, "ms_2_threads": 0.0301,
                                 "ms_1_thread_no_xnnpack": 0.0912, "top1_agreement_with_keras": 0.995},
                       "int8": {"error": "SomeModel cannot be exported to TFLite with builtin ops: why"}},
        },
    },
}


@pytest.fixture
def toy_zoo(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(MANIFEST))
    (tmp_path / "uddn_toy.keras").write_bytes(b"x" * 2048)  # no size in the manifest: read from the file
    latency = tmp_path / "export_latency.json"
    latency.write_text(json.dumps(LATENCY))
    return str(manifest), str(latency)


def test_classifier_card_shows_the_recorded_figures(toy_zoo):
    manifest, latency = toy_zoo
    card = model_card("small_cnn_toy", manifest_path=manifest, latency_path=latency)
    assert card.startswith("# small_cnn_toy\n")
    for text in ("| Model | `small_cnn` (classifier) |", "`digits`, evaluated on 359 test images",
                 "| Clean test accuracy | 97.77% |", "| Parameters | 99,178 |",
                 "`small_cnn_toy.keras`, 430,284 bytes (420.2 KiB)", "ab" * 32,
                 "| Default classifier of its data set | yes |",
                 "| Defense (how it was trained) | `none` |", "keras 3.15.1, tensorflow 2.21.0",
                 "```sh\ntfdefend train --model small_cnn --dataset digits --epochs 40\n```",
                 "No robustness figures in the manifest entry",
                 "FLOPs per image: 1,234,567", "Keras latency (batch 1, median): 0.750 ms",
                 "| float | 399,000 bytes | 0.041 ms | 0.030 ms | 0.091 ms | 99.5% top-1 agreement |",
                 "| int8 | not exported: SomeModel cannot be exported", "median of 50 runs on toy CPU",
                 "`python benchmarks/export_latency.py --repeats 50`",
                 'load_pretrained("small_cnn_toy")', "tfdefend zoo export small_cnn_toy --format tflite"):
        assert text in card, text


def test_preprocessor_card_without_latency(toy_zoo, tmp_path):
    manifest, _ = toy_zoo
    card = model_card("uddn_toy", manifest_path=manifest, latency_path=str(tmp_path / "absent.json"))
    for text in ("| Test reconstruction MSE | 0.00202 (PSNR 27.42 dB) |", "`uddn_toy.keras`, 2,048 bytes",
                 "| Classifier accuracy behind this defense, FGSM test images | 65.12% |",
                 "| Mean L1 distance of the output to the clean image, FGSM input | 0.0412 |",
                 "| `robustness.pgd_accuracy` | 40.00% |",
                 "TFLite size and latency: not measured (run `python benchmarks/export_latency.py"):
        assert text in card, text
    assert "Clean test accuracy" not in card and "Default classifier" not in card


def test_unknown_entry(toy_zoo):
    with pytest.raises(ValueError, match="zoo holds: small_cnn_toy, uddn_toy"):
        model_card("nope", manifest_path=toy_zoo[0])


@pytest.mark.parametrize("name", list_pretrained())
def test_every_zoo_entry_has_a_card(name):
    card = model_card(name)
    assert card.startswith(f"# {name}\n") and pretrained_info(name)["command"] in card


def test_write_model_cards_script(toy_zoo, tmp_path, monkeypatch):
    from tfdefend.models import zoo

    spec = importlib.util.spec_from_file_location("write_model_cards",
                                                  os.path.join(ROOT, "scripts", "write_model_cards.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    manifest, latency = toy_zoo
    monkeypatch.setattr(zoo, "MANIFEST_PATH", manifest)
    out = tmp_path / "cards"
    written = script.main(["--output-dir", str(out), "--latency", latency])
    assert sorted(os.listdir(out)) == ["small_cnn_toy.md", "uddn_toy.md"]
    assert len(written) == 2
    assert (out / "uddn_toy.md").read_text() == model_card("uddn_toy", latency_path=latency)
    assert "0.041 ms" in (out / "small_cnn_toy.md").read_text()
