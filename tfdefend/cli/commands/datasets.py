"""`tfdefend datasets`: list the bundled data sets (names for `--dataset`)."""

from tfdefend.cli.help_format import add_command


def add_parser(subparsers):
    """Adds `datasets` to the `tfdefend` subparsers."""
    command = add_command(subparsers, "datasets", "list the bundled data sets (names for `--dataset`)")
    command.set_defaults(func=run)


def run(args):
    """Returns the `tfdefend datasets` table."""
    from tfdefend.cli import listing

    return listing.datasets_text()
