"""The mobile app bundle: an int8 `.tflite` classifier with its labels, preprocessing and model card.

`export_app_bundle(model, DIR, class_names=..., representative_data=...)`
writes the folder::

    DIR/
      model.tflite   full-integer int8 model: uint8 input [1, H, W, C] (the raw
                     pixels, scale 1/255, zero point 0), uint8 outputs
                     `probabilities` (softmax, scale 1/256) and `logits`
      labels.txt     one class name per line, line i = class i
      bundle.json    everything the app needs to feed the model: input size,
                     colour, resize method, dtypes, the quantization scale and
                     zero point of the input and outputs, the label file, the
                     model's sha256 (the format is described below)
      MODEL_CARD.md  what the model is, how it was trained, measured figures

The folder is written under a temporary name next to DIR and renamed into
place when complete, so a failure never leaves a partial bundle.

Why a JSON beside the model and not TFLite metadata: the TFLite metadata
writer (`tflite_support.metadata_writers`) is not a dependency and is not
installed in the environment this was built in, so the bundle carries the
same facts (normalization, labels, quantization, image size) in
`bundle.json`. Reading it takes a JSON parser on the phone instead of the
metadata extractor; `model.tflite` itself is a plain LiteRT model.

The output the app reads is `probabilities`, uint8: p = (q - zero_point) *
scale, with the converter's fixed softmax quantization (scale 1/256, zero
point 0), i.e. steps of 0.4%. Two classes within a step tie; `logits` (also
uint8, its own scale) breaks the tie, which is what the reference client
(`tfdefend.export.app_client`) does. Float outputs would need a float
`QUANTIZE`/`DEQUANTIZE` pair the int8-only app runtime does not want.

The uint8 input is the plain pixel value: calibration always includes the
pixel values 0 and 1 (a copy of the first calibration image with one black
and one white pixel is added), so the converter's input range is exactly
[0, 1], scale 1/255, zero point 0, and `bundle.json["input"]["raw_pixels"]`
is true. The model was trained on pixel / 255.

`bundle.json` (format "tfdefend-app-bundle", version 1)::

    {"format", "format_version", "name",
     "model_file", "model_sha256", "model_size_bytes", "labels_file", "num_classes",
     "signature": "serving_default",
     "input": {"name": "images", "shape": [1, H, W, C], "dtype": "uint8", "color": "RGB"|"grayscale",
               "quantization": {"scale", "zero_point"}, "raw_pixels": true},
     "preprocessing": {"decode": ..., "resize": {"method": "bilinear", "antialias": true,
                       "size": [H, W], "function": "tf.image.resize"}, "round_to_uint8": true, ...},
     "outputs": {"probabilities": {"shape", "dtype", "quantization"}, "logits": {...}},
     "primary_output": "probabilities",
     "metadata": why JSON, "fidelity": int8 vs Keras on the calibration images,
     "source": where the model came from}
"""

import datetime
import json
import os

import numpy as np

from tfdefend.export import _serving
from tfdefend.export.app_client import BUNDLE_FILE, BUNDLE_FORMAT, BundleRunner, rank
from tfdefend.export.load_tflite import load_tflite
from tfdefend.export.tflite import _check_representative_data, export_tflite
from tfdefend.utils.atomic import atomic_path
from tfdefend.utils.hashing import sha256_file

MODEL_FILE = "model.tflite"
LABELS_FILE = "labels.txt"
CARD_FILE = "MODEL_CARD.md"
RESIZE = {"method": "bilinear", "antialias": True, "function": "tf.image.resize"}
RAW_MEANING = "real value = (q - zero_point) * scale = pixel / 255; feed the 8-bit pixels as they are"
METADATA_NOTE = ("JSON beside the model: the TFLite metadata writer (tflite_support) is not installed in the "
                 "environment that wrote this bundle")


def export_app_bundle(model, directory, *, class_names, representative_data, overwrite=False, name=None,
                      training_metrics=None, source=None):
    """Writes the app bundle folder of classifier `model` (see the module docstring).

    Args:
        model: A `keras.Model` classifier returning logits (or a
            `DefendedClassifier`) with a fixed (H, W, 1 or 3) input.
        directory: The bundle folder to create.
        class_names: One name per class, label order (no line breaks, unique).
        representative_data: Float images in [0, 1], (N, H, W, C), to
            calibrate the int8 activations (a few hundred training images).
        overwrite: If False and `directory` exists, raises `FileExistsError`.
        name: The model's name on the card (default: the Keras model's name).
        training_metrics: The training metrics dict (`tfdefend train`'s JSON),
            shown on the card.
        source: A dict describing where the model came from (e.g. {"file",
            "sha256"} or {"pretrained"}), recorded in `bundle.json`.

    Returns:
        The `bundle.json` content (a dict).

    Raises:
        TypeError: If `model` is not a keras.Model.
        ValueError: Not a classifier, no fixed input shape, class names not
            matching the outputs, bad representative data, or a model TFLite
            cannot convert with builtin int8 ops.
        FileExistsError: If `directory` exists and `overwrite` is False.
    """
    _serving.check_model(model)
    directory = _serving.check_path(directory, "directory")
    _serving.refuse_existing(directory, overwrite)
    kind = _serving.resolve_kind(model)
    if kind != "classifier":
        raise ValueError(f"App bundles hold a classifier; {_serving.model_label(model)} is a {kind}.")
    input_shape = _serving.resolve_input_shape(model)
    class_names = _check_class_names(class_names, _num_outputs(model))
    calibration = _check_representative_data(representative_data, input_shape)
    with atomic_path(directory, overwrite=overwrite) as tmp:
        os.makedirs(tmp)
        model_path = os.path.join(tmp, MODEL_FILE)
        export_tflite(model, model_path, quantization="int8", representative_data=_pin_input_range(calibration),
                      kind="classifier")
        with open(os.path.join(tmp, LABELS_FILE), "w", encoding="utf-8") as handle:
            handle.write("".join(f"{label}\n" for label in class_names))
        bundle = _describe(model_path, input_shape, class_names, name or model.name, source)
        bundle["fidelity"] = _fidelity(model, {**bundle, "model_path": model_path}, calibration)
        with open(os.path.join(tmp, BUNDLE_FILE), "w", encoding="utf-8") as handle:
            json.dump(bundle, handle, indent=2)
            handle.write("\n")
        with open(os.path.join(tmp, CARD_FILE), "w", encoding="utf-8") as handle:
            handle.write(app_model_card(bundle, class_names, training_metrics))
    return bundle


def _num_outputs(model):
    try:
        shape = model.output_shape
    except (AttributeError, ValueError):
        shape = None
    if isinstance(shape, tuple) and len(shape) == 2 and shape[-1] is not None:
        return int(shape[-1])
    return None


def _check_class_names(class_names, num_classes):
    if isinstance(class_names, str) or not hasattr(class_names, "__iter__"):
        raise ValueError(f"`class_names` must be a list of strings, got {type(class_names).__name__}.")
    names = list(class_names)
    bad = [n for n in names if not isinstance(n, str) or not n.strip() or "\n" in n or "\r" in n]
    if bad:
        raise ValueError(f"Class names must be non-empty one-line strings, got {bad[0]!r}.")
    if len(set(names)) != len(names):
        raise ValueError(f"Class names must be unique, got {names!r}.")
    if num_classes is not None and len(names) != num_classes:
        raise ValueError(f"{len(names)} class names for a model with {num_classes} outputs.")
    return names


def _pin_input_range(x):
    """The calibration images plus a copy of the first with a black and a white pixel: input range [0, 1]."""
    pin = x[:1].copy()
    pin[0, 0, 0, :] = 0.0
    pin[0, -1, -1, :] = 1.0
    return np.concatenate([x, pin])


def _quantization(details):
    scale, zero_point = details["quantization"]
    return {"scale": float(scale), "zero_point": int(zero_point)}


def _describe(model_path, input_shape, class_names, name, source):
    runner = load_tflite(model_path).get_signature_runner("serving_default")
    inputs, outputs = runner.get_input_details(), runner.get_output_details()
    spec = inputs[_serving.INPUT_NAME]
    in_q = _quantization(spec)
    height, width, channels = input_shape
    raw = abs(in_q["scale"] * 255.0 - 1.0) < 1e-6 and in_q["zero_point"] == 0
    return {
        "format": BUNDLE_FORMAT,
        "format_version": 1,
        "name": name,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "model_file": MODEL_FILE,
        "model_sha256": sha256_file(model_path),
        "model_size_bytes": os.path.getsize(model_path),
        "labels_file": LABELS_FILE,
        "num_classes": len(class_names),
        "signature": "serving_default",
        "input": {
            "name": _serving.INPUT_NAME, "shape": [1, height, width, channels],
            "dtype": np.dtype(spec["dtype"]).name, "layout": "NHWC",
            "color": "RGB" if channels == 3 else "grayscale",
            "quantization": in_q, "raw_pixels": bool(raw),
            "meaning": (RAW_MEANING if raw else "q = round(pixel / 255 / scale) + zero_point, clipped to "
                        "[0, 255]"),
        },
        "preprocessing": {
            "decode": "PNG, JPEG, GIF (first frame) or BMP to 8-bit RGB; alpha dropped, gray repeated to RGB",
            "to_grayscale": ("ITU-R 601 luma (tf.image.rgb_to_grayscale) of the RGB pixels, rounded"
                             if channels == 1 else None),
            "resize": {**RESIZE, "size": [height, width], "skip_if_same_size": True},
            "round_to_uint8": True,
            "crop": None,
            "training_scale": "pixel / 255 (float in [0, 1])",
        },
        "outputs": {key: {"shape": [int(d) for d in outputs[key]["shape"]],
                          "dtype": np.dtype(outputs[key]["dtype"]).name,
                          "quantization": _quantization(outputs[key])}
                    for key in ("probabilities", "logits")},
        "primary_output": "probabilities",
        "ranking": "by probabilities; ties (equal uint8 values) broken by logits",
        "metadata": METADATA_NOTE,
        "source": source or {},
        "writer": "tfdefend.export.export_app_bundle",
    }


def _fidelity(model, bundle, calibration):
    """Top-1 agreement of the bundle (run as the app runs it) with Keras on the calibration images."""
    runner = BundleRunner(bundle)
    pixels = np.round(calibration * 255.0).astype(np.uint8)
    keras_top1 = np.argmax(np.asarray(model(pixels.astype(np.float32) / 255.0, training=False)), axis=-1)
    app_top1 = np.asarray([rank(*runner(p))[0] for p in pixels])
    return {"images": len(pixels), "top1_agreement_with_keras": float(np.mean(app_top1 == keras_top1)),
            "on": "the calibration images, rounded to 8-bit pixels, Keras float32 vs LiteRT int8"}


def app_model_card(bundle, class_names, training_metrics=None):
    """The Markdown model card of an app bundle (figures from `bundle` and the training metrics)."""
    metrics = training_metrics or {}
    rows = [*_model_rows(bundle, class_names, metrics), *_training_rows(metrics), *_fidelity_rows(bundle)]
    lines = [f"# {bundle['name']} (app bundle)", "",
             "An image classifier for the mobile app, exported by `tfdefend app export`.", "",
             "| property | value |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows], ""]
    lines += ["## Training", ""]
    if metrics.get("command"):
        lines += ["Trained with:", "", "```sh", metrics["command"], "```", ""]
    else:
        lines += ["No training record was given to the exporter.", ""]
    lines += ["## Limits", "",
              ("- Accuracy is measured on the held-out split of the training data only; photos from another "
              "camera, background or season may be classified worse."),
              ("- The int8 model can differ from the float Keras model on close calls; the agreement above "
              "is measured on the calibration images, not on new photos."),
              "- No adversarial-robustness figure is claimed for this model.", "",
              "## Use", "", "```sh", "tfdefend app classify IMAGE --bundle THIS_FOLDER", "```", "",
              ("The preprocessing, labels and quantization are in `bundle.json` "
              f"({bundle['metadata']})."), ""]
    return "\n".join(lines)


def _model_rows(bundle, class_names, metrics):
    """The card's `(property, value)` rows about the model file: classes, input, preprocessing, output."""
    height, width, channels = bundle["input"]["shape"][1:]
    resize = bundle["preprocessing"]["resize"]
    return [("Model", (f"`{metrics.get('model', bundle['name'])}` classifier, {bundle['num_classes']} "
                       "classes")),
            ("Classes", ", ".join(f"`{c}`" for c in class_names)),
            ("Input", (f"uint8 [1, {height}, {width}, {channels}] {bundle['input']['color']} pixels "
                       f"(scale {bundle['input']['quantization']['scale']:.8g}, zero point "
                       f"{bundle['input']['quantization']['zero_point']})")),
            ("Preprocessing", (f"decode, {'convert to gray (luma), ' if channels == 1 else ''}"
                               f"resize to {height}x{width} ({resize['method']}"
                               f"{', antialiased' if resize['antialias'] else ''}), "
                               "round to uint8")),
            ("Output", ("`probabilities` uint8 (p = (q - zero_point) * scale"
                        f", scale {bundle['outputs']['probabilities']['quantization']['scale']:.8g}), "
                        "and `logits`")),
            ("File", f"`{bundle['model_file']}`, {bundle['model_size_bytes']:,} bytes, int8 (full integer)"),
            ("sha256", f"`{bundle['model_sha256']}`")]


def _training_rows(metrics):
    """The card's rows from the training metrics: accuracy, images, parameters, augmentation, defense."""
    rows = []
    if "clean_accuracy" in metrics:
        rows.append(("Held-out accuracy (Keras float)",
                     f"{100 * metrics['clean_accuracy']:.2f}% on {metrics.get('test_examples', '?')} images"
                     + (f" ({metrics['test_split']})" if metrics.get("test_split") else "")))
    if "train_examples" in metrics:
        rows.append(("Training images",
                     f"{metrics['train_examples']:,} from `{metrics.get('dataset', '?')}`"))
    if "params" in metrics:
        rows.append(("Parameters", f"{metrics['params']:,}"))
    if metrics.get("augment", "none") != "none":
        augmentation = metrics["augment"]
        if augmentation == "advmask":
            augmentation = (f"AdvMask (regions grown from the sensitive points of `{metrics.get('advmask_model')}`, "
                            f"eps {metrics.get('advmask_eps')}, {metrics.get('advmask_mean_points', 0):.1f} "
                            "points per image)")
        rows.append(("Training augmentation", augmentation))
    if metrics.get("defense", "none") != "none":
        robust = (f"; PGD-{metrics['pgd_steps']} accuracy {100 * metrics['pgd_accuracy']:.2f}% at L-inf eps "
                  f"{metrics['pgd_eps']:g} (Keras float)" if "pgd_accuracy" in metrics else "")
        rows.append(("Adversarial training", f"`{metrics['defense']}` at L-inf eps {metrics.get('eps')}{robust}"))
    return rows


def _fidelity_rows(bundle):
    """The card's int8-vs-Keras agreement row, if the bundle measured it."""
    fidelity = bundle.get("fidelity")
    if not fidelity:
        return []
    agreement = 100 * fidelity["top1_agreement_with_keras"]
    return [("int8 vs Keras", (f"{agreement:.1f}% top-1 agreement on "
                               f"{fidelity['images']} calibration images (measured at export)"))]
