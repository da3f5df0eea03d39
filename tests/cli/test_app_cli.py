"""`tfdefend train --data DIR`, `tfdefend app export` and `tfdefend app classify`, end to end."""

import json
import os
import pathlib

import keras
import numpy as np
import pytest

from tests.data.test_image_folder import PHOTOS, make_photo_folder
from tfdefend.cli.main import main
from tfdefend.export import read_bundle
from tfdefend.export.app_client import prepare_image


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A real photo folder, a small_cnn trained on it by the CLI, and its app bundle."""
    root = tmp_path_factory.mktemp("app_cli")
    folder = make_photo_folder(str(root / "photos"))
    model = str(root / "flowers.keras")
    assert main(["train", "--data", folder, "--image-size", "16", "16", "--model", "small_cnn",
                 "--set", "filters=4", "--set", "dense_units=16", "--epochs", "12", "--batch-size", "8",
                 "--lr", "0.01", "--output", model]) == 0
    bundle = str(root / "bundle")
    assert main(["app", "export", "--model", model, "--output", bundle, "--representative-data", folder]) == 0
    return root, folder, model, bundle


def test_train_on_folder_saves_class_names(workdir):
    _, folder, model, _ = workdir
    with open(model.replace(".keras", ".json")) as handle:
        metrics = json.load(handle)
    assert metrics["class_names"] == list(PHOTOS) and metrics["image_size"] == [16, 16]
    assert metrics["data_dir"] == os.path.abspath(folder) and metrics["train_examples"] == 24
    assert metrics["test_examples"] == 6 and 0.0 <= metrics["clean_accuracy"] <= 1.0
    assert keras.models.load_model(model).input_shape == (None, 16, 16, 3)


def test_export_then_classify_png_and_jpeg(workdir, capsys):
    root, folder, model, bundle_dir = workdir
    assert sorted(os.listdir(bundle_dir)) == ["MODEL_CARD.md", "bundle.json", "labels.txt", "model.tflite"]
    bundle = read_bundle(bundle_dir)
    assert bundle["source"]["file"] == os.path.abspath(model)
    assert "tfdefend train --data" in pathlib.Path(os.path.join(bundle_dir, "MODEL_CARD.md")).read_text()
    net = keras.models.load_model(model)
    images = [os.path.join(folder, "chelsea", "00.png"), os.path.join(folder, "coffee", "03.jpg"),
              os.path.join(folder, "rocket", "04.png")]
    capsys.readouterr()
    assert main(["app", "classify", *images, "--bundle", bundle_dir, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    for image, row in zip(images, results, strict=True):
        pixels = prepare_image(image, bundle)[None].astype(np.float32) / 255.0
        keras_top1 = PHOTOS[int(np.argmax(net(pixels, training=False)[0]))]
        assert row["predictions"][0][0] == keras_top1 and len(row["predictions"]) == 3
    assert main(["app", "classify", images[1], "--bundle", bundle_dir, "--top-k", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{images[1]}:\n  1. ") and "  2. " in out and "  3. " not in out
    assert "latency" in out

    # A second export is refused without --overwrite; labels from a file replace the metrics' names.
    assert main(["app", "export", "--model", model, "--output", bundle_dir]) == 2
    assert "exists" in capsys.readouterr().err
    labels = root / "labels.txt"
    labels.write_text("cat\ncup\nrocket\n")
    assert main(["app", "export", "--model", model, "--output", bundle_dir, "--labels", str(labels),
                 "--overwrite", "--calibration-images", "9"]) == 0
    assert read_bundle(bundle_dir)["labels"] == ["cat", "cup", "rocket"]
    assert read_bundle(bundle_dir)["fidelity"]["images"] == 9


def test_cli_errors_exit_2(workdir, tmp_path, capsys):
    _, folder, model, bundle_dir = workdir
    out = str(tmp_path / "m.keras")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", "--data", str(empty), "--output", out]) == 2
    assert "is empty" in capsys.readouterr().err
    (empty / "daisy").mkdir()
    (empty / "daisy" / "a.txt").write_text("x")
    assert main(["train", "--data", str(empty), "--output", out]) == 2
    assert "at least 2 class sub-folders" in capsys.readouterr().err
    (empty / "rose").mkdir()
    (empty / "rose" / "b.png").write_bytes(pathlib.Path(os.path.join(folder, "rocket", "00.png")).read_bytes())
    assert main(["train", "--data", str(empty), "--output", out]) == 2
    assert "a.txt' is not an image file" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "missing"), "--output", out]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "--dataset", "digits", "--image-size", "8", "8", "--output", out]) == 2
    assert "--data" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["train", "--dataset", "digits", "--data", folder, "--output", out])
    assert exc.value.code == 2 and "not allowed with" in capsys.readouterr().err
    assert main(["app", "classify", os.path.join(folder, "rocket", "00.png"), "--bundle",
                 str(tmp_path / "no_bundle")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["app", "classify", str(tmp_path / "none.png"), "--bundle", bundle_dir]) == 2
    assert "none.png' does not exist" in capsys.readouterr().err
    assert main(["app", "export", "--model", str(tmp_path / "none.keras"), "--output",
                 str(tmp_path / "b")]) == 2
    assert "none.keras" in capsys.readouterr().err
    lone = tmp_path / "lone.keras"
    lone.write_bytes(pathlib.Path(model).read_bytes())
    assert main(["app", "export", "--model", str(lone), "--output", str(tmp_path / "b")]) == 2
    assert "--labels" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "b")


def test_app_trained_with_advmask(workdir, capsys):
    """The app's model trained with AdvMask: sensitive points of the plain model, then the bundle's card says so."""
    root, folder, model, _ = workdir
    advmask_model = str(root / "flowers_advmask.keras")
    assert main(["train", "--data", folder, "--image-size", "16", "16", "--model", "small_cnn",
                 "--set", "filters=4", "--set", "dense_units=16", "--epochs", "2", "--batch-size", "8",
                 "--augment", "advmask", "--advmask-model", model, "--advmask-steps", "4",
                 "--output", advmask_model]) == 0
    with open(advmask_model.replace(".keras", ".json")) as handle:
        metrics = json.load(handle)
    assert metrics["augment"] == "advmask" and metrics["advmask_images_with_points"] == 24
    assert os.path.isfile(str(root / "flowers_advmask.sensitive_points" / "manifest.json"))
    bundle = str(root / "bundle_advmask")
    assert main(["app", "export", "--model", advmask_model, "--output", bundle, "--calibration-images", "8",
                 "--representative-data", folder]) == 0
    card = pathlib.Path(os.path.join(bundle, "MODEL_CARD.md")).read_text()
    assert "| Training augmentation | AdvMask (regions grown from the sensitive points of" in card
    capsys.readouterr()
    assert main(["train", "--data", folder, "--image-size", "16", "16", "--augment", "advmask",
                 "--output", str(root / "x.keras")]) == 2
    assert "needs `--advmask-model`" in capsys.readouterr().err


def test_app_trained_with_fast_adversarial_training(workdir, capsys):
    """The app's model trained with `--defense fast-at`: the bundle exports and its card says how it was trained."""
    root, folder, _, _ = workdir
    robust_model = str(root / "flowers_fast_at.keras")
    assert main(["train", "--data", folder, "--image-size", "16", "16", "--model", "small_cnn",
                 "--set", "filters=4", "--set", "dense_units=16", "--epochs", "2", "--batch-size", "8",
                 "--defense", "fast-at", "--eps", "0.03", "--guard-images", "4", "--output", robust_model]) == 0
    with open(robust_model.replace(".keras", ".json")) as handle:
        metrics = json.load(handle)
    assert metrics["defense"] == "fast-at" and metrics["guard_images"] == 4
    bundle = str(root / "bundle_fast_at")
    assert main(["app", "export", "--model", robust_model, "--output", bundle, "--calibration-images", "8",
                 "--representative-data", folder]) == 0
    card = pathlib.Path(os.path.join(bundle, "MODEL_CARD.md")).read_text()
    assert "| Adversarial training | `fast-at` at L-inf eps 0.03; PGD-20 accuracy" in card
