"""`tfdefend models`: list the registered models (names for `--model`), without TensorFlow."""

from tfdefend.cli.help_format import add_command


def add_parser(subparsers):
    """Adds `models` to the `tfdefend` subparsers."""
    command = add_command(subparsers, "models", "list the registered models (names for `--model`)")
    command.set_defaults(func=run)


def run(args):
    """Returns the `tfdefend models` table."""
    from tfdefend.cli import listing

    return listing.models_text()
