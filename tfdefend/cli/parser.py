"""The options of every `tfdefend` command (`build_parser`); each command's module adds its own."""

import argparse

from tfdefend.cli.commands import COMMANDS
from tfdefend.cli.help_format import HelpFormatter

DESCRIPTION = ("tfdefend: train classifiers and defenses against adversarial examples, attack them and "
               "print robustness tables; a zoo of pretrained models (TensorFlow 2 / Keras 3).")
EPILOG = ("Start with `tfdefend demo` (train, attack, print the table) or `tfdefend zoo list`. "
          "Run `tfdefend COMMAND -h` for the options of a command.")


class Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose sub-command parsers share `HelpFormatter` (argparse does not pass it on)."""

    def __init__(self, *args, formatter_class=HelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)


def build_parser():
    """Returns the `tfdefend` argument parser with all its sub-commands.

    Each parsed command carries `func`, its module's `run(args)`, and
    `argv` (None: the command line a training job records is `sys.argv`;
    `main` sets the list it parsed).
    """
    parser = Parser(prog="tfdefend", description=DESCRIPTION, epilog=EPILOG)
    parser.set_defaults(argv=None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser
