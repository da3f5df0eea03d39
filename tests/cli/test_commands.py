"""Each `tfdefend` command is one module of `tfdefend.cli.commands` with `add_parser` and `run`."""

import pytest

from tfdefend.cli.commands import COMMANDS
from tfdefend.cli.parser import build_parser

ARGV = {
    "train": ["train", "--output", "m.keras"],
    "train_uddn": ["train-uddn", "--classifier", "c.keras", "--output", "m.keras"],
    "train_rl_chain": ["train-rl-chain", "--classifier", "c.keras", "--output", "m.keras"],
    "evaluate": ["evaluate", "--pretrained", "small_cnn_mnist"],
    "demo": ["demo"],
    "leaderboard": ["leaderboard", "--output", "out"],
    "models": ["models"],
    "datasets": ["datasets"],
    "zoo": ["zoo", "list"],
    "app": ["app", "classify", "x.png", "--bundle", "b"],
}


def test_every_command_module_has_add_parser_and_run():
    names = [module.__name__.rsplit(".", 1)[1] for module in COMMANDS]
    assert names == list(ARGV)
    for module in COMMANDS:
        assert callable(module.add_parser) and callable(module.run), module.__name__


@pytest.mark.parametrize("module", COMMANDS, ids=lambda module: module.__name__.rsplit(".", 1)[1])
def test_a_parsed_command_runs_its_modules_run(module):
    args = build_parser().parse_args(ARGV[module.__name__.rsplit(".", 1)[1]])
    assert args.func is module.run
    assert args.argv is None  # `main` sets the parsed list; None records sys.argv
