"""`tfdefend train`: train a registered classifier or preprocessing defense with Model.fit."""

import json

from tfdefend.cli import dataset_choice
from tfdefend.cli.backup_options import add_backup_options, backup_kwargs
from tfdefend.cli.commands._shared import recorded_command, say
from tfdefend.cli.dataset_choice import ALLOW_FLAG, ALLOW_HELP
from tfdefend.cli.defense_option import add_defense_arguments, defense_kwargs
from tfdefend.cli.help_format import add_command
from tfdefend.cli.strategy_option import add_strategy_option

AUGMENTATIONS = ("none", "cutout", "random_erasing", "hide_and_seek", "gridmask", "advmask")


def add_parser(subparsers):
    """Adds `train` and its options to the `tfdefend` subparsers."""
    train = add_command(subparsers, "train",
                        "train a registered classifier or preprocessing defense with Model.fit",
                        "Train a registered classifier or preprocessing defense with Model.fit, then write "
                        "the .keras file and a JSON of its metrics next to it.")
    train.add_argument("--model", default="small_cnn", help="registry name (see `tfdefend models`)")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="a constructor argument of the model, VALUE as JSON (e.g. code_channels=4); "
                       "repeat for several")
    source = train.add_mutually_exclusive_group()
    source.add_argument("--dataset", default=None, metavar="NAME",
                        help="bundled data set (see `tfdefend datasets`) (default: fashion_mnist)")
    source.add_argument("--data", default=None, metavar="DIR",
                        help="instead of --dataset: an image folder, one sub-folder of images per class "
                        "(RGB, resized to --image-size); 20%% of each class is held out as the test split")
    train.add_argument("--image-size", type=int, nargs=2, default=None, metavar=("H", "W"),
                       help="with --data: the model's input size (default: 64 64)")
    train.add_argument("--epochs", type=int, default=10, help="training epochs")
    train.add_argument("--batch-size", type=int, default=128, help="training batch size (the global batch "
                       "with --strategy)")
    train.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (cosine-decayed)")
    train.add_argument("--seed", type=int, default=0, help="random seed of the weights, the shuffling and "
                       "the augmentation")
    train.add_argument("--limit", type=int, default=None, metavar="N",
                       help="use only the first N training images (default: all)")
    train.add_argument("--output", required=True, help="the .keras file to write (atomically)")
    train.add_argument("--metrics", default=None, help="metrics JSON (default: OUTPUT with .json)")
    train.add_argument("--no-optimizer", action="store_true",
                       help="save without the optimizer state (3x smaller; used for the zoo)")
    train.add_argument("--augment", default="none", choices=AUGMENTATIONS,
                       help="train on augmented images (classifiers; advmask: regions grown from "
                       "sensitive points)")
    train.add_argument("--advmask-model", default=None, metavar="ZOO_OR_FILE",
                       help="with --augment advmask: the trained classifier whose sensitive points are used "
                       "(default: the data set's zoo classifier; required with --data)")
    train.add_argument("--advmask-cache", default=None, metavar="DIR",
                       help="sensitive-point cache (default: OUTPUT with .sensitive_points); reused while "
                       "the model, data and settings are unchanged")
    train.add_argument("--advmask-eps", type=float, default=None,
                       help="dense attack budget (default: the data set's eps, 8/255 for --data)")
    train.add_argument("--advmask-steps", type=int, default=50, help="mask optimization steps of the sparse "
                       "attack")
    train.add_argument("--advmask-limit", type=int, default=None, metavar="N",
                       help="sensitive points of the first N training images only, the rest get GridMask "
                       "(default: all)")
    train.add_argument(ALLOW_FLAG, action="store_true", help=f"with --advmask-model: {ALLOW_HELP}")
    add_defense_arguments(train)
    add_backup_options(train)
    add_strategy_option(train)
    train.set_defaults(func=run)


def run(args):
    """Runs a parsed `tfdefend train`; returns the line to print (what was saved, and its test quality)."""
    from tfdefend.cli import jobs

    _check_advmask_model(args)
    metrics = jobs.train_job(model=args.model, dataset=args.dataset, epochs=args.epochs,
                             batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed,
                             output=args.output, metrics_output=args.metrics, limit=args.limit,
                             command=recorded_command(args), include_optimizer=not args.no_optimizer,
                             overrides=parse_overrides(args.overrides), data_dir=args.data,
                             image_size=args.image_size, augment=args.augment,
                             advmask_model=args.advmask_model, advmask_cache=args.advmask_cache,
                             advmask_eps=args.advmask_eps, advmask_steps=args.advmask_steps,
                             advmask_limit=args.advmask_limit, **backup_kwargs(args),
                             strategy=args.strategy, verbose=jobs.keras_verbose(), log=say,
                             **defense_kwargs(args))
    return summary(metrics, args.output)


def _check_advmask_model(args):
    """Refuses an `--advmask-model` that is no classifier of the data set (before TensorFlow starts)."""
    if args.augment == "advmask" and args.advmask_model is not None and args.data is None:
        dataset_choice.require_classifier(args.advmask_model, "--advmask-model")
        dataset_choice.choose_dataset(args.dataset or dataset_choice.DEFAULT_DATASET, args.advmask_model,
                                      allow_other=args.allow_other_dataset,
                                      remedy="Pick an --advmask-model trained on this data set")


def summary(metrics, output):
    """The line `tfdefend train` prints: where the model went and its quality on the full test set."""
    where = f"the full test set, {metrics['test_examples']:,} images"
    if "clean_accuracy" in metrics:
        robust = (f", PGD-{metrics['pgd_steps']} (eps {metrics['pgd_eps']:g}) accuracy "
                  f"{100 * metrics['pgd_accuracy']:.2f}%" if "pgd_accuracy" in metrics else "")
        return f"saved {output}: clean accuracy {100 * metrics['clean_accuracy']:.2f}%{robust} on {where}"
    return (f"saved {output}: reconstruction MSE {metrics['test_mse']:.5f} "
            f"({metrics['test_psnr_db']:.2f} dB) on {where}")


def parse_overrides(items):
    """Parses `--set KEY=VALUE` items (VALUE as JSON, else as a string) into a dict.

    Raises:
        ValueError: An item that is not KEY=VALUE with an identifier KEY.
    """
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"`--set` takes KEY=VALUE, got {item!r}.")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides
