"""The `tfdefend` command: parses the options (`parser.py`) and runs the command's module.

TensorFlow and Keras are imported only by the commands that need them
(inside the jobs), so `tfdefend --help`, `models`, `datasets`, `zoo list`
and `zoo show` answer at once.
"""

import sys

from tfdefend.cli.parser import build_parser


def main(argv=None):
    """Entry point of the `tfdefend` console command; returns the exit status (2: a clear error)."""
    args = build_parser().parse_args(argv)
    args.argv = argv  # the command line the training jobs record (None: sys.argv)
    try:
        print(args.func(args))
    except (ValueError, TypeError, OSError) as exc:  # OSError: FileNotFoundError, FileExistsError, ...
        print(f"tfdefend: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
