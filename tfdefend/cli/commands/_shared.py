"""What several command modules share: progress lines, the target-classifier and training-job options,
the data set rule."""

from tfdefend.cli import dataset_choice
from tfdefend.cli.backup_options import add_backup_options, backup_kwargs
from tfdefend.cli.dataset_choice import ALLOW_FLAG, ALLOW_HELP
from tfdefend.cli.strategy_option import add_strategy_option

MODEL_DATASET_HELP = ("bundled data set (see `tfdefend datasets`) (default: the classifier's own: its zoo "
                      "entry's, or the one in the training metrics JSON beside the .keras file; else "
                      "fashion_mnist)")


def say(message):
    """Announces a phase on stdout, flushed so it precedes Keras' output in a log file."""
    print(message, flush=True)


def recorded_command(args):
    """The command line a training job records in its metrics: `args.argv` (set by `main`), else sys.argv."""
    from tfdefend.cli import jobs

    return jobs.command_line(args.argv)


def add_target_classifier(parser):
    """Adds --dataset (default: the classifier's own), --allow-other-dataset and --classifier to `parser`."""
    parser.add_argument("--dataset", default=None, metavar="NAME", help=MODEL_DATASET_HELP)
    parser.add_argument(ALLOW_FLAG, action="store_true", help=ALLOW_HELP)
    parser.add_argument("--classifier", required=True, help="zoo name or .keras file of the target classifier")


def model_dataset(args, source, option):
    """The data set of a command that runs a trained classifier `source` (see `dataset_choice`).

    Raises:
        ValueError: `source` is a zoo entry of another kind, or `--dataset`
            does not fit it (see `dataset_choice.choose_dataset`).
    """
    dataset_choice.require_classifier(source, option)
    return dataset_choice.choose_dataset(args.dataset, source, allow_other=args.allow_other_dataset)


def classifier_dataset(args):
    """The data set of a command that trains against `--classifier` (see `model_dataset`)."""
    return model_dataset(args, args.classifier, "--classifier")


def add_job_options(parser, run):
    """Ends a classifier-guided training command's options: --seed, the crash-safety options, --strategy.

    Args:
        parser: The command's parser.
        run: The function that runs the parsed command (`args.func`).
    """
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    add_backup_options(parser)
    add_strategy_option(parser)
    parser.set_defaults(func=run)


def job_kwargs(args):
    """The job arguments read from `add_job_options`' options: seed, command line, backups and strategy."""
    return dict(seed=args.seed, command=recorded_command(args), **backup_kwargs(args), strategy=args.strategy)
