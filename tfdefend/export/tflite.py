"""TFLite (LiteRT) export for the mobile app: builtin ops only, optional quantization.

The `.tflite` file has one signature, `serving_default`, with the input
`images` [1, H, W, C] (batch fixed to 1) and the outputs `logits` and
`probabilities` for a classifier or `DefendedClassifier` (one graph,
denoiser + classifier), `images` for an image-to-image preprocessor. Run it
with `ai_edge_litert.interpreter.Interpreter` (or LiteRT on the phone) and
`interpreter.get_signature_runner()(images=x)`.

Only TFLite builtin ops are allowed (`TFLITE_BUILTINS`, or
`TFLITE_BUILTINS_INT8` for int8): no Flex / `SELECT_TF_OPS`, so the file runs
on the plain LiteRT mobile runtime. The conversion path is Keras 3's own:
`keras.export.ExportArchive` -> temporary SavedModel ->
`tf.lite.TFLiteConverter.from_saved_model` (the converter freezes the
variables there; `from_concrete_functions` on a Keras 3 model keeps them as
resource variables).

Quantization (`quantization=`):

- None: float32, matches Keras to ~1e-6.
- "fp16": float16 weights, float32 compute on CPU (half the size).
- "dynamic": int8 weights of the large tensors, float activations.
- "int8": full-integer post-training quantization calibrated on
  `representative_data`, with **uint8 input and outputs**. Quantize an
  image with the input's scale and zero point and dequantize the outputs::

      details = interpreter.get_input_details()[0]
      scale, zero_point = details["quantization"]
      x_uint8 = np.clip(np.round(x / scale) + zero_point, 0, 255).astype(np.uint8)
      out = interpreter.get_signature_runner()(images=x_uint8)
      o_scale, o_zero = interpreter.get_output_details()[i]["quantization"]
      logits = (out["logits"].astype(np.float32) - o_zero) * o_scale

  With representative images spanning [0, 1] the input scale is about
  1/255 and the zero point 0, i.e. the uint8 input is (almost exactly) the
  8-bit pixel value. A few ops have no integer kernel (ComDefend's
  binarization `GREATER` + `CAST`, bit-depth's `ROUND`); the converter keeps
  them in float between `DEQUANTIZE`/`QUANTIZE`, still builtin ops.

Models that cannot be converted with builtins only raise `ValueError` with
the model and the reason: `JPEGCompression` (`EncodeJpeg`/`DecodeJpeg` in a
`tf.map_fn` loop) and `MedianSmoothing` (`ExtractImagePatches`), alone or
inside a `DefendedClassifier`. Export those as a SavedModel, or run the
squeezer in the app before the classifier.

Quantization-aware training (QAT) is not offered. `tensorflow-model-
optimization`'s `quantize_model` only accepts `tf_keras` (Keras 2) models,
and Keras 3 has no QAT wrapper for convolutions (`Model.quantize` is
post-training weight quantization of Dense/EinsumDense/Embedding layers for
Keras-side inference; it does not produce TFLite integer kernels). QAT would
mean inserting `fake_quant` ops by hand into every model, so the exporter
uses the converter's post-training quantization. Measured int8 top-1
agreement with the Keras model per zoo classifier, on its full test split,
is in `benchmarks/results/zoo_figures.json` (97.1-100%; two models below 98%).
"""

import os
import tempfile

import numpy as np
import tensorflow as tf

from tfdefend.export import _serving
from tfdefend.models import JPEGCompression, MedianSmoothing
from tfdefend.utils.atomic import atomic_write_bytes
from tfdefend.utils.deprecation import deprecated_alias

QUANTIZATIONS = (None, "fp16", "dynamic", "int8")

# Models whose ops have no TFLite builtin kernel: class -> why.
_NOT_BUILTIN = {
    JPEGCompression: ("JPEG encoding/decoding (EncodeJpeg/DecodeJpeg inside a tf.map_fn loop) has no "
                      "TFLite builtin kernel; it needs the Flex delegate (SELECT_TF_OPS)"),
    MedianSmoothing: ("tf.image.extract_patches (ExtractImagePatches) has no TFLite builtin kernel; "
                      "it needs the Flex delegate (SELECT_TF_OPS)"),
}


def export_tflite(model, path, *, quantization=None, representative_data=None, overwrite=False,
                  input_shape=None, kind=None):
    """Converts `model` to a `.tflite` file with builtin ops only, batch size 1.

    Args:
        model: A `keras.Model`: a classifier returning logits, a
            `DefendedClassifier`, or an image-to-image preprocessor.
        path: Destination ending in ".tflite"; written atomically (temp file
            + rename).
        quantization: None (float32), "fp16", "dynamic" or "int8" (see the
            module docstring; int8 has uint8 input and outputs).
        representative_data: For "int8" only, and required there: float
            images in [0, 1], an array of shape (N, H, W, C) (a few hundred
            training images), used to calibrate the activation ranges.
        overwrite: If False and `path` exists, raises `FileExistsError`.
        input_shape: (height, width, channels); required for models that
            take any image size, else the model's own.
        kind: "classifier" or "preprocessor"; by default from the registry.

    Returns:
        `path`.

    Raises:
        TypeError: If `model` is not a keras.Model.
        ValueError: Bad `quantization`, missing or malformed
            `representative_data`, `path` not ending in ".tflite", or a
            model that cannot be converted with builtin ops only (the
            message names it and the op).
        FileExistsError: If `path` exists and `overwrite` is False.
    """
    _serving.check_model(model)
    if not isinstance(quantization, (str, type(None))) or quantization not in QUANTIZATIONS:
        raise ValueError(f"`quantization` must be one of {QUANTIZATIONS}, got {quantization!r}.")
    path = _serving.check_path(path)
    if not path.endswith(".tflite"):
        raise ValueError(f"`path` must end in '.tflite', got {path!r}.")
    kind = _serving.resolve_kind(model, kind)
    input_shape = _serving.resolve_input_shape(model, input_shape)
    if quantization == "int8":
        if representative_data is None:
            raise ValueError("`representative_data` is required for quantization='int8': pass a few hundred "
                             "float images in [0, 1] of shape (N, H, W, C) to calibrate the activations.")
        representative_data = _check_representative_data(representative_data, input_shape)
    elif representative_data is not None:
        raise ValueError(f"`representative_data` is only used with quantization='int8', got "
                         f"quantization={quantization!r}.")
    _serving.refuse_existing(path, overwrite)
    _check_builtin_convertible(model)
    content = _convert(model, kind, input_shape, quantization, representative_data)
    atomic_write_bytes(path, content, overwrite=overwrite)
    return path


tflite = deprecated_alias(export_tflite, "tflite")


def _check_representative_data(data, input_shape):
    try:
        x = np.asarray(data, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError("`representative_data` must be an array of float images (N, H, W, C).") from None
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(input_shape) or len(x) == 0:
        raise ValueError(f"`representative_data` must have shape (N, {', '.join(map(str, input_shape))}) "
                         f"with N >= 1, got {x.shape}.")
    if not np.all(np.isfinite(x)) or x.min() < 0.0 or x.max() > 1.0:
        raise ValueError("`representative_data` must be float images in [0, 1].")
    return x


def _walk(model):
    """`model` and every layer inside it, recursively."""
    yield model
    for layer in getattr(model, "layers", []):
        yield from _walk(layer)


def _check_builtin_convertible(model):
    for layer in _walk(model):
        for cls, why in _NOT_BUILTIN.items():
            if isinstance(layer, cls):
                inside = "" if layer is model else f" (inside {_serving.model_label(model)})"
                message = (f"{_serving.model_label(layer)}{inside} cannot be exported to TFLite with "
                           f"builtin ops only: {why}. Export it with `export_saved_model()` instead.")
                raise ValueError(message)  # noqa: TRY004 - a model TFLite cannot run, not a wrong type


def _convert(model, kind, input_shape, quantization, representative_data):
    archive = _serving.build_archive(model, kind, input_shape, batch_size=1)
    with tempfile.TemporaryDirectory(prefix="tfdefend_tflite_") as tmp:
        saved = os.path.join(tmp, "saved_model")
        archive.write_out(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved, signature_keys=["serving_default"])
        int8 = quantization == "int8"
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8 if int8
                                               else tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantization is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantization == "fp16":
            converter.target_spec.supported_types = [tf.float16]
        elif quantization == "int8":
            converter.representative_dataset = lambda: ([x[None]] for x in representative_data)
            converter.inference_input_type = tf.uint8
            converter.inference_output_type = tf.uint8
        try:
            return converter.convert()
        except Exception as exc:  # the converter raises its own ConverterError (and others)
            raise ValueError(f"{_serving.model_label(model)} cannot be exported to TFLite with builtin ops "
                             f"only (quantization={quantization!r}): {_summary(exc)}") from exc


def _summary(exc):
    """The informative line of a converter error (the unsupported ops), else its first line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for marker in ("TF Select ops:", "failed to legalize operation", "is neither a custom op nor a flex op"):
        for line in lines:
            if marker in line:
                return line[:300]
    return (lines[0] if lines else type(exc).__name__)[:300]
