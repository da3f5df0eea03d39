"""The jobs behind `tfdefend zoo export` and `tfdefend zoo card`, callable from Python too."""

import os

from tfdefend.cli.job_helpers import CALIBRATION_IMAGES

FORMATS = ("saved_model", "tflite")


def zoo_export_job(*, name, export_format, output, quantize=None, overwrite=False):
    """Exports zoo entry `name` as a SavedModel directory or a `.tflite` file.

    For `quantize="int8"` the activations are calibrated on the first 200
    training images of the entry's data set
    (`tfdefend.data.load(dataset, "train", as_numpy=True, limit=200)`).

    Args:
        name: A zoo entry (`tfdefend zoo list`).
        export_format: "saved_model" or "tflite".
        output: The SavedModel directory or the `.tflite` file to write (atomically).
        quantize: None, "fp16", "dynamic" or "int8" (TFLite only).
        overwrite: Replace `output` if it exists.

    Returns:
        A dict: name, format, quantization, path, size_bytes and, for int8,
        `input_quantization` {"scale", "zero_point"} of the uint8 input.

    Raises:
        ValueError: Unknown name, format or quantization; quantization with
            a SavedModel; a model that cannot be exported to TFLite.
        FileExistsError: If `output` exists and `overwrite` is False.
    """
    from tfdefend import data
    from tfdefend.export import export_saved_model, export_tflite
    from tfdefend.models import load_pretrained, pretrained_info

    if not isinstance(export_format, str) or export_format not in FORMATS:
        raise ValueError(f"`export_format` must be one of {FORMATS}, got {export_format!r}.")
    if export_format == "saved_model" and quantize is not None:
        raise ValueError("`--quantize` applies to `--format tflite` only; a SavedModel is float32.")
    entry = pretrained_info(name)
    if not overwrite and os.path.exists(output):
        raise FileExistsError(f"{output!r} exists; pass --overwrite to replace it.")
    kind = entry.get("kind", "classifier")
    if kind not in ("classifier", "preprocessor"):
        raise ValueError(f"Only classifiers and preprocessors are exported; {name!r} is a {kind}.")
    model = load_pretrained(name)
    result = {"name": name, "format": export_format, "quantization": quantize, "path": output}
    if export_format == "saved_model":
        export_saved_model(model, output, overwrite=overwrite, kind=kind)
        result["size_bytes"] = _tree_size(output)
        return result
    calibration = None
    if quantize == "int8":
        calibration, _ = data.load(entry["dataset"], "train", as_numpy=True, limit=CALIBRATION_IMAGES)
    export_tflite(model, output, quantization=quantize, representative_data=calibration, overwrite=overwrite,
                  kind=kind)
    result["size_bytes"] = os.path.getsize(output)
    if quantize == "int8":
        result["input_quantization"] = _input_quantization(output)
    return result


def zoo_card_job(name):
    """Returns the Markdown model card of zoo entry `name`."""
    from tfdefend.export import model_card

    return model_card(name)


def _tree_size(path):
    return sum(os.path.getsize(os.path.join(root, f)) for root, _, files in os.walk(path) for f in files)


def _input_quantization(path):
    """The uint8 input's scale and zero point, read from the LiteRT interpreter (None if not installed)."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401 - optional dependency
    except ImportError:
        return None
    from tfdefend.export import load_tflite

    scale, zero_point = load_tflite(path).get_input_details()[0]["quantization"]
    return {"scale": float(scale), "zero_point": int(zero_point)}
