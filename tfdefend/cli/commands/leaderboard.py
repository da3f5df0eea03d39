"""`tfdefend leaderboard`: AutoAttack every zoo classifier and every defense of a data set."""

from tfdefend.cli.commands._shared import say
from tfdefend.cli.help_format import add_command


def add_parser(subparsers):
    """Adds the `leaderboard` command to the `tfdefend` subparsers."""
    cmd = add_command(
        subparsers, "leaderboard",
        "AutoAttack every zoo classifier and every defense of a data set (Markdown, JSON, plot)",
        "Evaluate every zoo classifier of --dataset, every defense in front of its default classifier "
        "(white-box through the defense: BPDA where its gradients are useless, EOT where it is random, the "
        "RL chain end to end through its tools) and the int8 TFLite file of each classifier (Square Attack "
        "in LiteRT) with AutoAttack, run the gradient-masking checks, and write leaderboard_NORM.md, .json "
        "and .png to --output. Finished rows are kept in OUTPUT/rows: rerun the same command to resume.")
    cmd.add_argument("--dataset", default="fashion_mnist", metavar="NAME", help="bundled data set with zoo models")
    cmd.add_argument("--norm", choices=("inf", "l2"), default="inf", help="the threat model's norm")
    cmd.add_argument("--eps", type=float, default=None,
                     help="the budget (default: the data set's usual L-inf eps; required with --norm l2)")
    cmd.add_argument("--n-examples", type=int, default=None, metavar="N",
                     help="attack the first N test images (default: the whole test split)")
    cmd.add_argument("--steps", type=int, default=100, help="APGD and FAB iterations")
    cmd.add_argument("--queries", type=int, default=5000, help="Square Attack queries per image")
    cmd.add_argument("--check-n", type=int, default=500, metavar="N",
                     help="images (the first N) the gradient-masking checks run on; 0 skips them")
    cmd.add_argument("--only", nargs="+", default=None, metavar="ENTRY", help="evaluate only these entries")
    cmd.add_argument("--no-tflite", action="store_true", help="skip the int8 TFLite rows")
    cmd.add_argument("--seed", type=int, default=0, help="seed of every random start and search")
    cmd.add_argument("--batch-size", type=int, default=500, help="images per attack call")
    cmd.add_argument("--report-only", action="store_true",
                     help="compute nothing: write the report from the rows already in OUTPUT/rows (same settings)")
    cmd.add_argument("--output", required=True, metavar="DIR", help="folder for the results and the row cache")
    cmd.set_defaults(func=run)


def run(args):
    """Runs a parsed `tfdefend leaderboard` command; returns the text to print."""
    from tfdefend.cli.leaderboard_job import leaderboard_job

    return leaderboard_job(dataset=args.dataset, norm=args.norm, eps=args.eps, n_examples=args.n_examples,
                           steps=args.steps, queries=args.queries, check_n=args.check_n, only=args.only,
                           include_tflite=not args.no_tflite, seed=args.seed, batch_size=args.batch_size,
                           output=args.output, report_only=args.report_only, log=say)
