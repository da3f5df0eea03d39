"""int8 fidelity of a zoo model, for `benchmarks/zoo_figures.py`: app-bundle top-1 agreement or output MAE.

A classifier is exported as the mobile app bundle (`export_app_bundle`:
full-integer int8, uint8 pixels in) and run in LiteRT as the app runs it
(`BundleRunner`, ranked by probabilities, ties broken by the logits) on the
test images as 8-bit pixels; its top-1 is compared with the Keras model's. A
preprocessor is exported with `export_tflite(..., quantization="int8")` (what
`tfdefend zoo export --quantize int8` writes) and the mean absolute
difference of its output images to Keras' is reported. Calibration: the
first `CALIBRATION_IMAGES` training images, as `tfdefend app export` and
`tfdefend zoo export` use.
"""

import os
import tempfile

import numpy as np

from tfdefend import data
from tfdefend.export import export_app_bundle, export_tflite, load_tflite, read_bundle
from tfdefend.export.app_client import BundleRunner, rank

CALIBRATION_IMAGES = 200  # tfdefend.cli.app_job / export_job
CHUNK = 1000


def _int8_classifier(entry, model, x, y, keras_pred, calibration, workdir):
    bundle_dir = os.path.join(workdir, "bundle")
    export_app_bundle(model, bundle_dir, class_names=list(data.dataset_info(entry["dataset"]).class_names),
                      representative_data=calibration)
    runner = BundleRunner(read_bundle(bundle_dir))
    pixels = np.round(x * 255.0).astype(np.uint8)  # the 8-bit pixels the app reads (exact for 8-bit data)
    app_pred = np.asarray([rank(*runner(p))[0] for p in pixels])
    agree = int(np.sum(app_pred == keras_pred))
    return {"export": "export_app_bundle: int8, uint8 pixels in, ranked by probabilities then logits",
            "top1_agreement": round(agree / len(x), 4), "agreeing": agree,
            "int8_accuracy": round(float(np.mean(app_pred == y)), 4)}


def _int8_preprocessor(model, x, calibration, workdir):
    path = export_tflite(model, os.path.join(workdir, "model.tflite"), quantization="int8",
                         representative_data=calibration)
    runner = load_tflite(path).get_signature_runner("serving_default")
    (scale, zero) = runner.get_input_details()["images"]["quantization"]
    (out_scale, out_zero) = runner.get_output_details()["images"]["quantization"]
    total = 0.0
    for start in range(0, len(x), CHUNK):
        xb = x[start:start + CHUNK]
        reference = np.asarray(model.predict(xb, verbose=0), np.float64)
        for image, ref in zip(xb, reference):
            q = np.clip(np.round(image / scale) + zero, 0, 255).astype(np.uint8)[None]
            out = (runner(images=q)["images"].astype(np.float64) - out_zero) * out_scale
            total += float(np.mean(np.abs(out[0] - ref)))
    mae = float(f"{total / len(x):.4g}")
    return {"export": "tflite(quantization='int8'): uint8 in and out", "output_mae": mae}


def int8_row(entry, model, x, y, keras_pred):
    """int8 fidelity on all of `x`: app-bundle top-1 agreement (classifiers) or output MAE (preprocessors)."""
    calibration, _ = data.load(entry["dataset"], "train", as_numpy=True, limit=CALIBRATION_IMAGES)
    row = {"examples": len(x), "calibration_images": len(calibration)}
    with tempfile.TemporaryDirectory(prefix="zoo_figures_") as workdir:
        try:
            if entry.get("kind", "classifier") == "classifier":
                return {**row, **_int8_classifier(entry, model, x, y, keras_pred, calibration, workdir)}
            return {**row, **_int8_preprocessor(model, x, calibration, workdir)}
        except ValueError as exc:  # a model TFLite cannot convert with builtin ops
            return {**row, "error": str(exc)[:300]}
