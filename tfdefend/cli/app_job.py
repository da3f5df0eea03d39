"""`tfdefend app export` and `tfdefend app classify`: the mobile app bundle and its reference client."""

import json
import os

from tfdefend.cli.help_format import add_command

CALIBRATION_IMAGES = 200


def add_app_parser(sub):
    """Adds the `app` command (export, classify) to the `tfdefend` subparsers `sub`."""
    app = add_command(sub, "app", "the mobile app bundle: int8 TFLite + labels + bundle.json + model card")
    app_sub = app.add_subparsers(dest="app_command", required=True, metavar="APP_COMMAND")
    export = add_command(app_sub, "export", "write the app bundle folder of a trained classifier")
    source = export.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a .keras classifier (e.g. from `tfdefend train --data DIR`)")
    source.add_argument("--pretrained", help="a zoo classifier (see `tfdefend zoo list`)")
    export.add_argument("--output", required=True, help="the bundle folder to write (atomically)")
    export.add_argument("--labels", default=None, help="class names, one per line (default: `class_names` "
                        "of the training metrics JSON, or the zoo data set's classes)")
    export.add_argument("--metrics", default=None, help="training metrics JSON (default: MODEL with .json)")
    export.add_argument("--representative-data", default=None, metavar="DIR_OR_DATASET",
                        help="int8 calibration images: an image folder (class sub-folders or flat) or a "
                             "bundled data set (default: the training folder or data set)")
    export.add_argument("--calibration-images", type=int, default=CALIBRATION_IMAGES,
                        help="how many calibration images to use")
    export.add_argument("--name", default=None, help="the model's name on the card")
    export.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    classify = add_command(app_sub, "classify", "classify images with a bundle in LiteRT, as the app does")
    classify.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG, GIF or BMP files")
    classify.add_argument("--bundle", required=True, help="the bundle folder")
    classify.add_argument("--top-k", type=int, default=5, help="how many classes to print per image")
    classify.add_argument("--threads", type=int, default=1, help="LiteRT threads")
    classify.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run_app(args):
    """Runs a parsed `tfdefend app ...` command; returns the text to print."""
    if args.app_command == "export":
        bundle = app_export_job(model_file=args.model, pretrained=args.pretrained, output=args.output,
                                labels=args.labels, metrics=args.metrics,
                                representative_data=args.representative_data,
                                calibration_images=args.calibration_images, name=args.name,
                                overwrite=args.overwrite)
        shape = "x".join(str(d) for d in bundle["input"]["shape"])
        fidelity = bundle["fidelity"]
        agreement = 100 * fidelity["top1_agreement_with_keras"]
        return (f"wrote app bundle {args.output}: {bundle['model_file']} ({bundle['model_size_bytes']:,} "
                f"bytes, int8, uint8 input {shape}, {bundle['num_classes']} classes), labels.txt, "
                f"bundle.json, MODEL_CARD.md; int8 vs Keras top-1 agreement {agreement:.1f}% on "
                f"{fidelity['images']} calibration images")
    results = app_classify_job(images=args.images, bundle=args.bundle, top_k=args.top_k, threads=args.threads)
    if args.json:
        return json.dumps(results, indent=2)
    lines = []
    for row in results:
        lines.append(f"{row['image']}:")
        width = max(len(label) for label, _ in row["predictions"])
        lines += [f"  {rank}. {label:{width}s}  {100 * p:6.2f}%"
                  for rank, (label, p) in enumerate(row["predictions"], 1)]
        lines.append(f"  latency {row['latency_ms']:.3f} ms (LiteRT invoke, batch 1, median of 10, "
                     f"{args.threads} thread{'s' if args.threads > 1 else ''})")
    return "\n".join(lines)


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
