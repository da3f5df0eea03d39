"""`tfdefend demo`: the main job: train the default classifier, attack it, print the table."""

from tfdefend.cli.commands._shared import recorded_command, say
from tfdefend.cli.commands.evaluate import add_attack_options
from tfdefend.cli.help_format import add_command


def add_parser(subparsers):
    """Adds `demo` and its options to the `tfdefend` subparsers."""
    demo = add_command(subparsers, "demo",
                       "the main job: train the default classifier, attack it, print the table",
                       "Train a classifier for a few epochs, attack it with FGSM and PGD on the first "
                       "--limit test images and print the robustness table.")
    demo.add_argument("--dataset", default="fashion_mnist", metavar="NAME",
                      help="bundled data set (see `tfdefend datasets`)")
    demo.add_argument("--model", default="small_cnn", help="registry name of the classifier "
                      "(see `tfdefend models`)")
    demo.add_argument("--epochs", type=int, default=3, help="training epochs")
    demo.add_argument("--output", default="runs/demo.keras", help="where the trained model goes")
    add_attack_options(demo)
    demo.set_defaults(func=run)


def run(args):
    """Runs a parsed `tfdefend demo`; returns the robustness table's text."""
    from tfdefend.cli import jobs
    from tfdefend.cli.evaluate_job import default_eps

    return jobs.demo_job(model=args.model, dataset=args.dataset, epochs=args.epochs, output=args.output,
                         eps_values=default_eps(args.dataset, args.eps), pgd_steps=args.pgd_steps,
                         limit=args.limit, table_output=args.json, command=recorded_command(args),
                         verbose=jobs.keras_verbose(), log=say)
