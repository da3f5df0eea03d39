import json
import os

import numpy as np
import pytest
import tensorflow as tf

from tfdefend.cli.main import main
from tfdefend.export import export_keras
from tfdefend.models import create_model, zoo
from tfdefend.utils import sha256_file


@pytest.fixture(scope="module")
def toy_zoo_dir(tmp_path_factory):
    """A zoo with a tiny digits classifier, a tiny DAE and a generator entry (no weights needed)."""
    import keras

    directory = tmp_path_factory.mktemp("zoo")
    keras.utils.set_random_seed(0)
    cnn = create_model("small_cnn", input_shape=(8, 8, 1), num_classes=10, filters=4, dense_units=16)
    dae = create_model("dae", input_shape=(8, 8, 1), filters=(4, 8))
    models = {"cnn_digits": ("small_cnn", "classifier", cnn), "dae_digits": ("dae", "preprocessor", dae)}
    manifest = {}
    for name, (registry_name, kind, model) in models.items():
        path = directory / f"{name}.keras"
        export_keras(model, path)
        manifest[name] = {"file": path.name, "sha256": sha256_file(path), "model": registry_name,
                          "kind": kind, "dataset": "digits",
                          "command": f"tfdefend train --model {registry_name}",
                          "params": model.count_params(), "size_bytes": os.path.getsize(path)}
    manifest["cnn_digits"]["clean_accuracy"] = 0.5
    manifest["gen_digits"] = {"file": "gen_digits.keras", "sha256": "0" * 64, "model": "gnr_generator",
                              "kind": "generator", "dataset": "digits", "command": "tfdefend train-uddn"}
    (directory / "manifest.json").write_text(json.dumps({"models": manifest}))
    return directory


@pytest.fixture
def toy_zoo(toy_zoo_dir, monkeypatch):
    monkeypatch.setattr(zoo, "ZOO_DIR", str(toy_zoo_dir))
    monkeypatch.setattr(zoo, "MANIFEST_PATH", str(toy_zoo_dir / "manifest.json"))
    return toy_zoo_dir


def test_export_saved_model(toy_zoo, tmp_path, capsys):
    out = tmp_path / "cnn_sm"
    assert main(["zoo", "export", "cnn_digits", "--format", "saved_model", "--output", str(out)]) == 0
    assert f"exported cnn_digits to {out} (saved_model, " in capsys.readouterr().out
    x = np.random.default_rng(0).uniform(size=(2, 8, 8, 1)).astype(np.float32)
    served = tf.saved_model.load(str(out)).signatures["serving_default"](images=tf.constant(x))
    np.testing.assert_allclose(served["logits"].numpy(), zoo.load_pretrained("cnn_digits")(x), atol=1e-5)

    # Refused without --overwrite, replaced with it.
    assert main(["zoo", "export", "cnn_digits", "--format", "saved_model", "--output", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["zoo", "export", "dae_digits", "--format", "saved_model", "--output", str(out),
                 "--overwrite"]) == 0
    assert set(tf.saved_model.load(str(out)).signatures["serving_default"].structured_outputs) == {"images"}


def test_export_tflite_int8_prints_the_input_quantization(toy_zoo, tmp_path, capsys):
    from ai_edge_litert.interpreter import Interpreter

    out = tmp_path / "cnn_int8.tflite"
    assert main(["zoo", "export", "cnn_digits", "--format", "tflite", "--quantize", "int8",
                 "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"exported cnn_digits to {out} (tflite, int8, " in printed
    details = Interpreter(model_path=str(out)).get_input_details()[0]
    scale, zero_point = details["quantization"]
    assert details["dtype"] == np.uint8
    assert f"uint8 input: scale {scale:.8g}, zero point {zero_point}" in printed


def test_card(toy_zoo, capsys):
    assert main(["zoo", "card", "cnn_digits"]) == 0
    card = capsys.readouterr().out
    assert card.startswith("# cnn_digits\n") and "| Clean test accuracy | 50.00% |" in card


def test_errors_are_clear(toy_zoo, tmp_path, capsys):
    out = tmp_path / "x"
    assert main(["zoo", "export", "cnn_digits", "--format", "saved_model", "--quantize", "int8",
                 "--output", str(out)]) == 2
    assert "--format tflite" in capsys.readouterr().err
    assert main(["zoo", "export", "gen_digits", "--format", "tflite", "--output", str(out)]) == 2
    assert "is a generator" in capsys.readouterr().err
    assert main(["zoo", "export", "nope", "--format", "tflite", "--output", str(out)]) == 2
    assert "zoo holds" in capsys.readouterr().err
    bad_suffix = str(tmp_path / "x.lite")
    assert main(["zoo", "export", "cnn_digits", "--format", "tflite", "--output", bad_suffix]) == 2
    assert ".tflite" in capsys.readouterr().err
    assert main(["zoo", "card", "nope"]) == 2
    with pytest.raises(SystemExit):
        main(["zoo", "export", "cnn_digits", "--format", "tflite", "--quantize", "int4",
              "--output", str(out)])
    assert not list(tmp_path.iterdir())
