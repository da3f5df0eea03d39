"""`tfdefend zoo list|show|card|export`: the pretrained zoo."""

from tfdefend.cli.help_format import add_command


def add_parser(subparsers):
    """Adds `zoo` and its sub-commands (`list`, `show`, `card`, `export`) to the `tfdefend` subparsers."""
    zoo = add_command(subparsers, "zoo", "the pretrained zoo: list, show, card, export")
    zoo_sub = zoo.add_subparsers(dest="zoo_command", required=True, metavar="ZOO_COMMAND")
    add_command(zoo_sub, "list", "list the pretrained models, with their defense and test result")
    for name, help_text in (("show", "show one entry of the manifest (JSON)"),
                            ("card", "print the Markdown model card of a zoo entry")):
        command = add_command(zoo_sub, name, help_text)
        command.add_argument("name", help="a zoo entry (see `tfdefend zoo list`)")
    export = add_command(zoo_sub, "export", "export a zoo model as a SavedModel (TF Serving) or .tflite "
                         "(LiteRT)")
    export.add_argument("name", help="a zoo entry (see `tfdefend zoo list`)")
    export.add_argument("--format", required=True, choices=("saved_model", "tflite"), help="what to write")
    export.add_argument("--quantize", choices=("fp16", "dynamic", "int8"), default=None,
                        help="TFLite quantization (int8: uint8 in/out, calibrated on 200 training images) "
                        "(default: none, float32)")
    export.add_argument("--output", required=True, help="the SavedModel directory or .tflite file to write")
    export.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    zoo.set_defaults(func=run)


def run(args):
    """Runs a parsed `tfdefend zoo ZOO_COMMAND`; returns the text to print."""
    runs = {"list": run_list, "show": run_show, "card": run_card, "export": run_export}
    return runs[args.zoo_command](args)


def run_list(args):
    """Returns the `tfdefend zoo list` table."""
    from tfdefend.cli import listing

    return listing.zoo_list_text()


def run_show(args):
    """Returns the manifest entry `args.name` as JSON."""
    from tfdefend.cli import listing

    return listing.zoo_show_text(args.name)


def run_card(args):
    """Returns the Markdown model card of zoo entry `args.name`."""
    from tfdefend.cli import export_job

    return export_job.zoo_card_job(args.name)


def run_export(args):
    """Runs a parsed `tfdefend zoo export`; returns what was written (and the uint8 input's quantization)."""
    from tfdefend.cli import export_job

    info = export_job.zoo_export_job(name=args.name, export_format=args.format, output=args.output,
                                     quantize=args.quantize, overwrite=args.overwrite)
    lines = [f"exported {args.name} to {info['path']} ({args.format}"
             f"{', ' + args.quantize if args.quantize else ''}, {info['size_bytes']:,} bytes)"]
    if info.get("input_quantization"):
        q = info["input_quantization"]
        lines.append(f"uint8 input: scale {q['scale']:.8g}, zero point {q['zero_point']} "
                     "(x_uint8 = round(x / scale) + zero_point)")
    return "\n".join(lines)
