"""`tfdefend train --augment`: baselines and AdvMask (sensitive points cached next to the output)."""

import json
import pathlib

import keras
import numpy as np
import pytest

from tfdefend.cli.main import main
from tfdefend.models.zoo import ZOO_DIR
from tfdefend.training import train_classifier


def _train(tmp_path, name, *extra, epochs=3):
    out = tmp_path / f"{name}.keras"
    code = main(["train", "--model", "small_cnn", "--dataset", "digits", "--epochs", str(epochs), "--lr", "3e-3",
                 "--batch-size", "64", "--set", "filters=8", "--augment", name, "--output", str(out), *extra])
    assert code == 0 and out.exists()
    return out, json.loads(out.with_suffix(".json").read_text())


def test_cutout_trains_and_records_the_layer(tmp_path):
    out, metrics = _train(tmp_path, "cutout")
    assert metrics["augment"] == "cutout" and metrics["augment_config"]["size"] == 4
    assert metrics["clean_accuracy"] > 0.5  # 3 epochs on erased digits: learning, not chance (10%)
    assert keras.models.load_model(out).count_params() == metrics["params"]


def test_advmask_computes_then_reuses_sensitive_points(tmp_path):
    extra = ("--advmask-limit", "48", "--advmask-steps", "4", "--advmask-cache", str(tmp_path / "sp"),
             "--limit", "128")
    _, first = _train(tmp_path, "advmask", *extra, epochs=1)
    assert first["augment"] == "advmask" and first["advmask_model"] == "small_cnn_digits"
    assert first["advmask_images_with_points"] == 48 and first["advmask_cache_action"] == "computed"
    assert 0 < first["advmask_mean_points"] < 64
    masks = np.load(tmp_path / "sp" / "masks.npy")
    assert masks.shape == (48, 8, 8, 1) and set(np.unique(masks)) <= {0, 1}
    _, second = _train(tmp_path, "advmask", *extra, epochs=1)
    assert second["advmask_cache_action"] == "loaded"


def test_bad_augment_arguments_are_clear(tmp_path, capsys):
    out = str(tmp_path / "m.keras")
    assert main(["train", "--model", "dae", "--dataset", "digits", "--augment", "cutout", "--output", out]) == 2
    assert "`augment` applies to classifiers" in capsys.readouterr().err
    code = main(["train", "--model", "small_cnn", "--dataset", "digits", "--augment", "advmask",
                 "--advmask-model", "small_cnn_f16_fashion_mnist", "--output", out])
    assert code == 2  # refused from the zoo entry's data set, before the model is loaded
    err = capsys.readouterr().err
    assert "trained on fashion_mnist" in err and "8x8x1 images" in err
    copy = tmp_path / "no_metrics.keras"  # a file without training metrics: refused from its input shape
    copy.write_bytes((pathlib.Path(ZOO_DIR) / "small_cnn_f16_fashion_mnist.keras").read_bytes())
    assert main(["train", "--model", "small_cnn", "--dataset", "digits", "--augment", "advmask",
                 "--advmask-model", str(copy), "--output", out]) == 2
    assert "takes inputs (28, 28, 1), but the training images are (8, 8, 1)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--dataset", "digits", "--augment", "mixup", "--output", out])
    assert not (tmp_path / "m.keras").exists()


def test_fit_classifier_takes_a_batched_dataset():
    import tensorflow as tf

    from tfdefend.models import create_model

    model = create_model("small_cnn", input_shape=(8, 8, 1), filters=4)
    x, y = np.random.default_rng(0).random((32, 8, 8, 1), np.float32), np.arange(32) % 10
    history = train_classifier(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and model.optimizer.iterations.numpy() == 8
    with pytest.raises(ValueError, match="known, non-zero number of batches"):
        train_classifier(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(8).repeat(), epochs=1)
