"""The jobs behind `tfdefend app export` and `tfdefend app classify`, callable from Python too."""

import json
import os

from tfdefend.cli.job_helpers import CALIBRATION_IMAGES


def app_export_job(*, model_file=None, pretrained=None, output, labels=None, metrics=None,
                   representative_data=None, calibration_images=CALIBRATION_IMAGES, name=None,
                   overwrite=False):
    """Exports a .keras or zoo classifier as an app bundle folder; returns its `bundle.json` dict.

    Class names come from `labels` (a file, one per line), else the
    `class_names` of the training metrics JSON (`metrics`, default: the
    model file with ".json"), else the zoo data set's classes. Calibration
    images come from `representative_data` (an image folder, read with the
    app's own preprocessing, or a bundled data set), else the training
    folder recorded in the metrics, else the zoo entry's data set.

    Raises:
        FileNotFoundError: A missing model, labels, metrics or image folder.
        FileExistsError: If `output` exists and `overwrite` is False.
        ValueError: No class names or calibration data can be found, or
            they do not fit the model (see `export_app_bundle`).
    """
    from tfdefend.export import export_app_bundle
    from tfdefend.models import load_model, load_pretrained, pretrained_info
    from tfdefend.utils import check_positive_int, sha256_file

    if (model_file is None) == (pretrained is None):
        raise ValueError("Give exactly one of `--model` and `--pretrained`.")
    calibration_images = check_positive_int(calibration_images, "calibration_images")
    if not overwrite and os.path.exists(output):
        raise FileExistsError(f"{output!r} exists; pass --overwrite to replace it.")
    training = {}
    if model_file is not None:
        if not os.path.isfile(model_file):
            raise FileNotFoundError(f"Model file {model_file!r} does not exist.")
        metrics_path = metrics or os.path.splitext(model_file)[0] + ".json"
        if metrics is not None and not os.path.isfile(metrics):
            raise FileNotFoundError(f"Metrics file {metrics!r} does not exist.")
        if os.path.isfile(metrics_path):
            with open(metrics_path, encoding="utf-8") as handle:
                training = json.load(handle)
        model = load_model(model_file)
        source = {"file": os.path.abspath(model_file), "sha256": sha256_file(model_file)}
        dataset = None
    else:
        entry = pretrained_info(pretrained)
        if entry.get("kind", "classifier") != "classifier":
            raise ValueError(f"App bundles hold a classifier; {pretrained!r} is a {entry.get('kind')}.")
        training = dict(entry)
        model = load_pretrained(pretrained)
        source = {"pretrained": pretrained, "sha256": entry.get("sha256")}
        dataset = entry["dataset"]
    class_names = _class_names(labels, training, dataset)
    height, width, channels = model.input_shape[1:]
    calibration = _calibration(representative_data or training.get("data_dir") or dataset,
                               (height, width, channels), calibration_images)
    return export_app_bundle(model, output, class_names=class_names, representative_data=calibration,
                             overwrite=overwrite, name=name or pretrained or os.path.splitext(
                                 os.path.basename(model_file))[0],
                             training_metrics=training, source=source)


def _class_names(labels, training, dataset):
    if labels is not None:
        if not os.path.isfile(labels):
            raise FileNotFoundError(f"Labels file {labels!r} does not exist.")
        with open(labels, encoding="utf-8") as handle:
            return [line.strip() for line in handle if line.strip()]
    if training.get("class_names"):
        return list(training["class_names"])
    if dataset is not None:
        from tfdefend.data import dataset_info

        return list(dataset_info(dataset).class_names)
    raise ValueError("No class names: pass --labels FILE (one class per line), or export a model trained by "
                     "`tfdefend train --data DIR` (its metrics JSON holds `class_names`).")


def _calibration(source, input_shape, limit):
    """Float calibration images (N, H, W, C) in [0, 1] from an image folder or a bundled data set."""
    import numpy as np

    from tfdefend.data import list_datasets, load
    from tfdefend.data.image_folder import check_image_file, scan_image_folder
    from tfdefend.export.app_bundle import RESIZE
    from tfdefend.export.app_client import prepare_image

    if source is None:
        raise ValueError("No calibration images: pass --representative-data DIR_OR_DATASET (the training "
                         "image folder, or a bundled data set; see `tfdefend datasets`).")
    source = os.fspath(source)
    if os.path.isdir(source):
        entries = sorted(e for e in os.listdir(source) if not e.startswith("."))
        if entries and not any(os.path.isdir(os.path.join(source, e)) for e in entries):
            paths = [os.path.join(source, e) for e in entries]  # a flat folder of images
            for path in paths:
                check_image_file(path)
        else:
            _, paths, _ = scan_image_folder(source)
        if len(paths) > limit:
            keep = np.sort(np.random.default_rng(0).permutation(len(paths))[:limit])
            paths = [paths[i] for i in keep]
        spec = {"input": {"shape": [1, *input_shape]}, "preprocessing": {"resize": RESIZE}}
        return np.stack([prepare_image(p, spec) for p in paths]).astype(np.float32) / 255.0
    if source not in list_datasets():
        raise FileNotFoundError(f"--representative-data {source!r} is neither an image folder nor a bundled "
                                f"data set ({', '.join(list_datasets())}).")
    x, _ = load(source, "train", as_numpy=True, limit=limit)
    if tuple(x.shape[1:]) != tuple(input_shape):
        raise ValueError(f"Data set {source!r} has images of shape {tuple(x.shape[1:])}; the model takes "
                         f"{tuple(input_shape)}. Pass an image folder as --representative-data.")
    return x


def app_classify_job(*, images, bundle, top_k=5, threads=1):
    """Classifies each image with the bundle; returns [{"image", "predictions", "latency_ms"}]."""
    from tfdefend.export import classify_with_bundle

    results = []
    for image in images:
        result = classify_with_bundle(image, bundle, top_k=top_k, num_threads=threads)
        results.append({"image": os.fspath(image), "predictions": [list(p) for p in result.predictions],
                        "latency_ms": result.latency_ms})
    return results
