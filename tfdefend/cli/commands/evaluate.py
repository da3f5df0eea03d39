"""`tfdefend evaluate`: attack a trained classifier (FGSM, PGD) and print the robustness table."""

from tfdefend.cli.commands._shared import MODEL_DATASET_HELP, model_dataset, say
from tfdefend.cli.dataset_choice import ALLOW_FLAG, ALLOW_HELP
from tfdefend.cli.help_format import add_command


def add_parser(subparsers):
    """Adds `evaluate` and its options to the `tfdefend` subparsers."""
    evaluate = add_command(subparsers, "evaluate",
                           "attack a classifier (FGSM, PGD) and print the robustness table",
                           "Attack a trained classifier with FGSM and PGD on the first --limit test images "
                           "and print the robustness table.")
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--model-file", metavar="FILE", help="a .keras classifier")
    source.add_argument("--pretrained", metavar="NAME", help="a zoo classifier (see `tfdefend zoo list`)")
    evaluate.add_argument("--dataset", default=None, metavar="NAME",
                          help=MODEL_DATASET_HELP.replace("classifier's own", "model's own"))
    evaluate.add_argument(ALLOW_FLAG, action="store_true", help=ALLOW_HELP)
    add_attack_options(evaluate)
    evaluate.set_defaults(func=run)


def add_attack_options(command):
    """--eps, --pgd-steps, --limit and --json: the attacks and the table of `evaluate` and `demo`."""
    command.add_argument("--eps", type=float, nargs="+", default=None,
                         help="L-inf budgets (default: 0.5x, 1x and 2x the data set's usual eps, those <= 1)")
    command.add_argument("--pgd-steps", type=int, default=10, help="PGD iterations")
    command.add_argument("--limit", type=int, default=1000, metavar="N",
                         help="number of test images to attack (the first N)")
    command.add_argument("--json", default=None, metavar="FILE",
                         help="also write the table rows to this JSON file")


def run(args):
    """Runs a parsed `tfdefend evaluate`; returns the robustness table's text."""
    from tfdefend.cli.evaluate_job import default_eps, evaluate_job, table_text

    source = args.model_file if args.model_file is not None else args.pretrained
    if args.pretrained is not None:
        from tfdefend.models.zoo import pretrained_info

        pretrained_info(args.pretrained)  # an unknown name fails at once, before TensorFlow starts
    dataset = model_dataset(args, source, "--model-file" if args.model_file is not None else "--pretrained")
    rows = evaluate_job(model_file=args.model_file, pretrained=args.pretrained, dataset=dataset,
                        eps_values=default_eps(dataset, args.eps), pgd_steps=args.pgd_steps, limit=args.limit,
                        output=args.json, log=say)
    return table_text(rows, dataset)
