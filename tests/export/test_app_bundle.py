"""The app bundle: export, the reference client in LiteRT, and their checks."""

import json
import os
import pathlib

import keras
import numpy as np
import pytest

from tests.data.test_image_folder import PHOTOS, make_photo_folder
from tfdefend.data.image_folder import load_image_folder_arrays
from tfdefend.export import app_bundle, classify_with_bundle, export_app_bundle, read_bundle
from tfdefend.export.app_client import BundleRunner, prepare_image, rank
from tfdefend.models import create_model
from tfdefend.utils import sha256_file

SIZE = (16, 16)
INT8_AGREEMENT = 0.98  # the README's bar for int8 vs Keras top-1 agreement (its zoo table marks those below)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(model, folder, bundle dir): small_cnn trained on 60 real photo crops, exported as a bundle.

    Measured: 93% accuracy on 90 other crops of the photos, so agreement checks test a working model.
    """
    root = tmp_path_factory.mktemp("app")
    folder = make_photo_folder(str(root / "photos"), per_class=20)
    x, y, names = load_image_folder_arrays(folder, image_size=SIZE)
    keras.utils.set_random_seed(0)
    model = create_model("small_cnn", input_shape=(*SIZE, 3), num_classes=3, filters=4, dense_units=16)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    bundle = str(root / "bundle")
    export_app_bundle(model, bundle, class_names=names, representative_data=x,
                      training_metrics={"model": "small_cnn", "clean_accuracy": 1.0, "test_examples": 12})
    return model, folder, bundle


def _keras_top1(model, path, bundle):
    pixels = prepare_image(path, bundle)
    return int(np.argmax(model(pixels[None].astype(np.float32) / 255.0, training=False)[0]))


def test_bundle_files_and_description(trained):
    _, _, directory = trained
    assert sorted(os.listdir(directory)) == ["MODEL_CARD.md", "bundle.json", "labels.txt", "model.tflite"]
    with open(os.path.join(directory, "labels.txt")) as handle:
        assert handle.read() == "".join(f"{name}\n" for name in PHOTOS)
    with open(os.path.join(directory, "bundle.json")) as handle:
        bundle = json.load(handle)
    assert bundle["model_sha256"] == sha256_file(os.path.join(directory, "model.tflite"))
    assert bundle["input"]["shape"] == [1, *SIZE, 3] and bundle["input"]["dtype"] == "uint8"
    assert bundle["input"]["raw_pixels"] and bundle["input"]["quantization"]["zero_point"] == 0
    assert bundle["outputs"]["probabilities"]["dtype"] == "uint8"
    assert bundle["preprocessing"]["resize"]["method"] == "bilinear"
    assert bundle["fidelity"]["images"] >= 50  # enough for 98% to allow at most one disagreement
    assert bundle["fidelity"]["top1_agreement_with_keras"] >= INT8_AGREEMENT
    card = pathlib.Path(os.path.join(directory, "MODEL_CARD.md")).read_text()
    assert "`chelsea`, `coffee`, `rocket`" in card and bundle["model_sha256"] in card

    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=os.path.join(directory, "model.tflite")).get_signature_runner()
    assert runner.get_input_details()["images"]["dtype"] == np.uint8
    assert set(runner.get_output_details()) == {"logits", "probabilities"}


def test_int8_bundle_agrees_with_keras_on_unseen_crops(trained, tmp_path):
    """>= 98% top-1 agreement on 90 crops the export never saw, run as the app runs them, for a model
    that really classifies them (an always-the-same-class model would agree 100% and mean nothing)."""
    model, _, directory = trained
    held_out = make_photo_folder(str(tmp_path / "held_out"), per_class=30, seed=1)
    x, y, _ = load_image_folder_arrays(held_out, image_size=SIZE)
    pixels = np.round(x * 255.0).astype(np.uint8)
    keras_top1 = np.argmax(np.asarray(model(pixels.astype(np.float32) / 255.0, training=False)), axis=-1)
    runner = BundleRunner(read_bundle(directory))
    app_top1 = np.asarray([rank(*runner(p))[0] for p in pixels])
    assert np.mean(keras_top1 == y) >= 0.8 and len(np.unique(keras_top1)) == len(PHOTOS)
    assert np.mean(app_top1 == keras_top1) >= INT8_AGREEMENT


def test_classify_equals_keras_top1_on_png_and_jpeg(trained, tmp_path):
    model, folder, directory = trained
    bundle = read_bundle(directory)
    from PIL import Image

    for name in PHOTOS:  # larger real crops than the training ones: the client resizes them
        import skimage.data

        photo = Image.fromarray(getattr(skimage.data, name)()).resize((40, 40), Image.BILINEAR)
        for ext in ("png", "jpg"):
            path = str(tmp_path / f"{name}.{ext}")
            photo.save(path)
            result = classify_with_bundle(path, directory, top_k=5, repeats=2)
            assert len(result.predictions) == 3 and result.latency_ms > 0
            assert result.indices[0] == _keras_top1(model, path, bundle), (path, result)
            assert result.predictions[0][0] == PHOTOS[result.indices[0]]
            probabilities = [p for _, p in result.predictions]
            assert probabilities == sorted(probabilities, reverse=True) and 0.97 < sum(probabilities) < 1.03
    path = os.path.join(folder, "rocket", "03.jpg")
    from_array = classify_with_bundle(np.asarray(Image.open(path)), directory, top_k=1, repeats=1)
    assert from_array.predictions == classify_with_bundle(path, directory, top_k=1, repeats=1).predictions


def test_bad_bundles_and_images(trained, tmp_path):
    _, _, directory = trained
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_bundle(str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="no bundle.json"):
        read_bundle(str(tmp_path))
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in os.listdir(directory):
        data = pathlib.Path(os.path.join(directory, name)).read_bytes()
        (copy / name).write_bytes(data + b"\0" if name == "model.tflite" else data)
    with pytest.raises(ValueError, match="does not match the sha256"):
        read_bundle(str(copy))
    (tmp_path / "fake.png").write_text("not an image")
    with pytest.raises(ValueError, match="Cannot decode .*fake.png"):
        classify_with_bundle(str(tmp_path / "fake.png"), directory)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        classify_with_bundle(str(tmp_path / "missing.png"), directory)
    with pytest.raises(ValueError, match="top_k"):
        classify_with_bundle(np.zeros((4, 4, 3), np.uint8), directory, top_k=0)


def test_export_errors_leave_nothing(trained, tmp_path, monkeypatch):
    model, _, directory = trained
    x = np.random.default_rng(0).uniform(size=(4, *SIZE, 3)).astype(np.float32)
    with pytest.raises(FileExistsError):
        export_app_bundle(model, directory, class_names=list(PHOTOS), representative_data=x)
    with pytest.raises(ValueError, match="2 class names for a model with 3 outputs"):
        export_app_bundle(model, str(tmp_path / "b"), class_names=["a", "b"], representative_data=x)
    with pytest.raises(ValueError, match="unique"):
        export_app_bundle(model, str(tmp_path / "b"), class_names=["a", "a", "b"], representative_data=x)
    with pytest.raises(ValueError, match="representative_data"):
        export_app_bundle(model, str(tmp_path / "b"), class_names=list(PHOTOS),
                          representative_data=x[..., :1])
    with pytest.raises(ValueError, match="preprocessor"):
        export_app_bundle(create_model("bit_depth"), str(tmp_path / "b"), class_names=["a"],
                          representative_data=x)

    def broken(*args, **kwargs):
        raise ValueError("conversion failed")

    monkeypatch.setattr(app_bundle, "export_tflite", broken)
    with pytest.raises(ValueError, match="conversion failed"):
        export_app_bundle(model, str(tmp_path / "b"), class_names=list(PHOTOS), representative_data=x)
    assert os.listdir(tmp_path) == []


def test_gray_model_bundle(trained, tmp_path):
    _, folder, _ = trained
    keras.utils.set_random_seed(1)
    model = create_model("small_cnn", input_shape=(8, 8, 1), num_classes=2, filters=4, dense_units=8)
    calibration = np.random.default_rng(0).uniform(size=(8, 8, 8, 1)).astype(np.float32)
    directory = str(tmp_path / "gray")
    bundle = export_app_bundle(model, directory, class_names=["dark", "light"],
                               representative_data=calibration)
    assert bundle["input"]["shape"] == [1, 8, 8, 1] and bundle["input"]["color"] == "grayscale"
    path = os.path.join(folder, "coffee", "01.jpg")
    pixels = prepare_image(path, bundle)
    assert pixels.shape == (8, 8, 1)
    result = classify_with_bundle(path, directory, repeats=1)
    assert [label for label, _ in result.predictions] in (["dark", "light"], ["light", "dark"])
    assert "convert to gray" in pathlib.Path(os.path.join(directory, "MODEL_CARD.md")).read_text()
