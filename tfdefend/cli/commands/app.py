"""`tfdefend app export|classify`: the mobile app bundle and its reference client."""

import json

from tfdefend.cli.app_job import app_classify_job, app_export_job
from tfdefend.cli.job_helpers import CALIBRATION_IMAGES
from tfdefend.cli.help_format import add_command


def add_parser(subparsers):
    """Adds the `app` command (export, classify) to the `tfdefend` subparsers."""
    app = add_command(subparsers, "app", "the mobile app bundle: int8 TFLite + labels + bundle.json + model card")
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
    app.set_defaults(func=run)


def run(args):
    """Runs a parsed `tfdefend app APP_COMMAND`; returns the text to print."""
    return run_export(args) if args.app_command == "export" else run_classify(args)


def run_export(args):
    """Runs a parsed `tfdefend app export`; returns what was written and the int8 model's fidelity."""
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


def run_classify(args):
    """Runs a parsed `tfdefend app classify`; returns a table (or JSON) of each image's top classes."""
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
