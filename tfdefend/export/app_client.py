"""The reference client of an app bundle: runs `model.tflite` in LiteRT exactly as the app does.

Steps (all from the bundle's `bundle.json`, see `tfdefend.export.app_bundle`):

1. decode the file (PNG, JPEG, GIF first frame, BMP) with
   `tf.io.decode_image` to uint8 RGB (alpha dropped, gray repeated);
   for a gray model, convert to luma (`tf.image.rgb_to_grayscale`, rounded);
2. resize to the input's (H, W) with `tf.image.resize`, method and
   antialias as `bundle.json["preprocessing"]["resize"]` says (skipped when
   the size already matches), rounded to uint8;
3. feed the uint8 pixels: as they are when `bundle.json["input"]["raw_pixels"]`
   is true (input scale 1/255, zero point 0, which `export_app_bundle`
   guarantees), else re-quantized with the input's scale and zero point;
4. invoke the `serving_default` signature and dequantize the uint8
   `probabilities` output, p = (q - zero_point) * scale; classes are
   ranked by probability, ties (equal uint8 values) broken by the
   dequantized `logits` output.
"""

import json
import os
import time
from typing import NamedTuple

import numpy as np

from tfdefend.export.load_tflite import load_tflite
from tfdefend.utils.folders import check_folder
from tfdefend.utils.hashing import sha256_file

BUNDLE_FILE = "bundle.json"
BUNDLE_FORMAT = "tfdefend-app-bundle"


class Classification(NamedTuple):
    """What `classify_with_bundle` returns."""

    predictions: list  # [(label, probability)], best first
    indices: list  # the class indices of `predictions`
    latency_ms: float  # median LiteRT invoke time (batch 1), milliseconds


def read_bundle(bundle_dir, *, check_sha256=True):
    """Reads and checks an app bundle; returns `bundle.json` with "labels" and "directory" added.

    Raises:
        FileNotFoundError: If the folder, its `bundle.json`, model or labels file is missing.
        ValueError: If `bundle.json` is malformed, the model's sha256 differs
            from the recorded one, or the labels do not match the classes.
    """
    bundle_dir = check_folder(bundle_dir, type_name="`bundle_dir`", missing_name="App bundle",
                              kind="a folder path", hint=" (make one with `tfdefend app export`)")
    path = os.path.join(bundle_dir, BUNDLE_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{bundle_dir!r} is not an app bundle: it has no {BUNDLE_FILE} "
                                "(make one with `tfdefend app export`).")
    try:
        with open(path, encoding="utf-8") as handle:
            bundle = json.load(handle)
        if bundle.get("format") != BUNDLE_FORMAT:
            raise KeyError("format")
        for key in ("model_file", "labels_file", "model_sha256", "num_classes", "signature", "input",
                    "outputs", "preprocessing"):
            bundle[key]  # presence check: KeyError if absent
        _check_fields(bundle)
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, AttributeError, TypeError, ValueError) as exc:
        raise ValueError(f"{path!r} is not a valid {BUNDLE_FORMAT} description ({type(exc).__name__}: "
                         f"{exc}).") from None
    model_path = os.path.join(bundle_dir, bundle["model_file"])
    labels_path = os.path.join(bundle_dir, bundle["labels_file"])
    for file in (model_path, labels_path):
        if not os.path.isfile(file):
            raise FileNotFoundError(f"App bundle {bundle_dir!r} lacks {os.path.basename(file)!r}.")
    if check_sha256 and sha256_file(model_path) != bundle["model_sha256"]:
        raise ValueError(f"{model_path!r} does not match the sha256 recorded in {BUNDLE_FILE}; the bundle "
                         "was modified or is incomplete.")
    with open(labels_path, encoding="utf-8") as handle:
        labels = [line.rstrip("\r\n") for line in handle if line.strip()]
    if len(labels) != bundle["num_classes"]:
        raise ValueError(f"{labels_path!r} has {len(labels)} labels; the model has {bundle['num_classes']} "
                         "classes.")
    return {**bundle, "labels": labels, "directory": bundle_dir, "model_path": model_path}


def _check_fields(bundle):
    """Raises KeyError/TypeError/ValueError unless the fields the client reads have the right types."""
    for key in ("model_file", "labels_file"):
        name = bundle[key]
        if not isinstance(name, str) or not name or os.path.basename(name) != name or name in (".", ".."):
            raise ValueError(f"{key} must be a file name inside the bundle folder, got {name!r}")
    if not isinstance(bundle["model_sha256"], str):
        raise TypeError("model_sha256 must be a string")
    if isinstance(bundle["num_classes"], bool) or not isinstance(bundle["num_classes"], int):
        raise TypeError("num_classes must be an int")
    shape = bundle["input"]["shape"]
    if (not isinstance(shape, list) or len(shape) != 4
            or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape)):
        raise ValueError(f"input.shape must be [1, H, W, C] of positive ints, got {shape!r}")
    if not isinstance(bundle["input"]["name"], str) or not isinstance(bundle["input"]["raw_pixels"], bool):
        raise TypeError("input.name must be a string and input.raw_pixels a bool")
    resize = bundle["preprocessing"]["resize"]
    resize["method"], resize["antialias"]  # presence check
    if not isinstance(bundle["outputs"], dict) or "probabilities" not in bundle["outputs"]:
        raise KeyError("outputs.probabilities")


def prepare_image(image, bundle):
    """The uint8 (H, W, C) pixels the app feeds the model (steps 1-2 of the module docstring).

    Args:
        image: A file path, the encoded bytes, or an array of pixels
            (uint8, or float in [0, 1]) of shape (h, w), (h, w, 1), (h, w, 3)
            or (h, w, 4), any size.
        bundle: `read_bundle`'s dict (or `bundle.json`'s content).

    Raises:
        FileNotFoundError: If a path does not exist.
        ValueError: If the file cannot be decoded or the array is malformed.
    """
    import tensorflow as tf

    height, width, channels = bundle["input"]["shape"][1:]
    resize = bundle["preprocessing"]["resize"]
    name = "the image bytes"
    if isinstance(image, (str, os.PathLike)):
        name = repr(os.fspath(image))
        if not os.path.isfile(image):
            raise FileNotFoundError(f"Image {name} does not exist.")
        with open(image, "rb") as handle:
            image = handle.read()
    if isinstance(image, bytes):
        try:
            pixels = tf.io.decode_image(image, channels=3, dtype=tf.uint8, expand_animations=False)
        except (tf.errors.OpError, ValueError) as exc:
            raise ValueError(f"Cannot decode {name} as a PNG, JPEG, GIF or BMP image: "
                             f"{str(exc).splitlines()[0][:200]}") from None
    else:
        pixels = tf.convert_to_tensor(_rgb_array(image))
    if channels == 1:
        gray = tf.image.rgb_to_grayscale(tf.cast(pixels, tf.float32))
        pixels = tf.cast(tf.clip_by_value(tf.round(gray), 0.0, 255.0), tf.uint8)
    if tuple(pixels.shape[:2]) != (height, width):
        resized = tf.image.resize(tf.cast(pixels, tf.float32), (height, width), method=resize["method"],
                                  antialias=bool(resize["antialias"]))
        pixels = tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)
    return np.asarray(pixels, np.uint8)


def _rgb_array(image):
    x = np.asarray(image)
    if x.ndim == 2:
        x = x[..., None]
    if x.ndim != 3 or x.shape[-1] not in (1, 3, 4) or min(x.shape[:2]) < 1:
        raise ValueError(f"An image array must be (h, w), (h, w, 1), (h, w, 3) or (h, w, 4), got {x.shape}.")
    if x.dtype != np.uint8:
        floats = np.issubdtype(x.dtype, np.floating)
        if not floats or not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1:
            raise ValueError(f"An image array must be uint8, or float in [0, 1]; got {x.dtype}.")
        x = np.round(x * 255.0).astype(np.uint8)
    x = x[..., :3]
    return np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x


class BundleRunner:
    """A loaded bundle: `runner(pixels)` -> (probabilities, logits) as float vectors."""

    def __init__(self, bundle, num_threads=1):
        self.bundle = bundle
        self.interpreter = load_tflite(bundle["model_path"], num_threads=num_threads)
        self.runner = self.interpreter.get_signature_runner(bundle["signature"])
        self.input_name = bundle["input"]["name"]

    def quantize(self, pixels):
        """uint8 pixels (H, W, C) -> the model's uint8 input [1, H, W, C] (step 3)."""
        spec = self.bundle["input"]
        if spec["raw_pixels"]:
            return np.asarray(pixels, np.uint8)[None]
        q = spec["quantization"]
        value = np.round(np.asarray(pixels, np.float32) / 255.0 / q["scale"]) + q["zero_point"]
        return np.clip(value, 0, 255).astype(np.uint8)[None]

    def invoke(self, quantized):
        return self.runner(**{self.input_name: quantized})

    def dequantize(self, outputs):
        """The dequantized float outputs by name (probabilities, logits), batch dimension dropped."""
        result = {}
        for name, spec in self.bundle["outputs"].items():
            value = np.asarray(outputs[name])
            if spec["dtype"] == "uint8":
                q = spec["quantization"]
                value = (value.astype(np.float32) - q["zero_point"]) * q["scale"]
            result[name] = value.astype(np.float32)[0]
        return result

    def __call__(self, pixels):
        out = self.dequantize(self.invoke(self.quantize(pixels)))
        return out["probabilities"], out.get("logits")


def rank(probabilities, logits=None):
    """Class indices, best first: by probability, ties broken by the logits (then by index)."""
    p = np.asarray(probabilities, np.float64)
    keys = [np.arange(len(p))] + ([-np.asarray(logits, np.float64)] if logits is not None else []) + [-p]
    return [int(i) for i in np.lexsort(keys)]


def classify_with_bundle(image, bundle_dir, *, top_k=5, num_threads=1, repeats=10):
    """Classifies one image with an app bundle in LiteRT, as the app does.

    Args:
        image: A file path, encoded bytes, or a pixel array (see `prepare_image`).
        bundle_dir: The bundle folder (`export_app_bundle`'s output).
        top_k: How many classes to return (at most the number of classes).
        num_threads: LiteRT threads.
        repeats: Invocations timed after one warm-up; the median is reported.

    Returns:
        A `Classification`: `predictions` [(label, probability)] best first,
        their `indices`, and `latency_ms` (median invoke time, batch 1;
        decoding and resizing not included).

    Raises:
        FileNotFoundError: Missing bundle, bundle file or image.
        ValueError: A malformed bundle or image, or a bad `top_k`/`repeats`.
    """
    for value, name in ((top_k, "top_k"), (repeats, "repeats"), (num_threads, "num_threads")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
    bundle = read_bundle(bundle_dir)
    pixels = prepare_image(image, bundle)
    runner = BundleRunner(bundle, num_threads=num_threads)
    quantized = runner.quantize(pixels)
    outputs = runner.invoke(quantized)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        outputs = runner.invoke(quantized)
        times.append(1000.0 * (time.perf_counter() - start))
    out = runner.dequantize(outputs)
    order = rank(out["probabilities"], out.get("logits"))[:top_k]
    predictions = [(bundle["labels"][i], float(out["probabilities"][i])) for i in order]
    return Classification(predictions, order, float(np.median(times)))
