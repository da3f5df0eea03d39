"""Every `tfdefend` command and option has help text that shows its default and names no internal file."""

import argparse

import pytest

from tfdefend.cli.help_format import HelpFormatter
from tfdefend.cli.main import main
from tfdefend.cli.parser import build_parser


def _parsers(parser, path=("tfdefend",)):
    """(command path, parser, help in the parent's list) of the main parser and every sub-command."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                assert (listed.get(name) or "").strip(), f"`{' '.join(path)} {name}` has no help in the list"
                yield from _parsers(child, (*path, name))


PARSERS = list(_parsers(build_parser()))


def _options(parser):
    skip = (argparse._HelpAction, argparse._SubParsersAction)
    return [action for action in parser._actions if not isinstance(action, skip)]


def test_the_walk_covers_every_command():
    commands = {" ".join(path[1:]) for path, _ in PARSERS}
    assert {"train", "train-uddn", "train-rl-chain", "evaluate", "demo", "models", "datasets", "zoo list",
            "zoo show", "zoo card", "zoo export", "app export", "app classify"} <= commands
    assert sum(len(_options(parser)) for _, parser in PARSERS) > 80


@pytest.mark.parametrize("path, parser", PARSERS, ids=[" ".join(p) for p, _ in PARSERS])
def test_every_option_has_help_that_shows_its_default(path, parser):
    formatter = HelpFormatter(prog=" ".join(path))
    for action in _options(parser):
        name = "/".join(action.option_strings) or action.dest
        assert (action.help or "").strip(), f"`{' '.join(path)} {name}` has no help text"
        text = formatter._expand_help(action)  # the help as printed, with the default filled in
        shown = action.option_strings and not action.required and action.nargs != 0
        if shown and action.default not in (None, [], argparse.SUPPRESS):
            value = (" ".join(map(str, action.default)) if isinstance(action.default, list)
                     else str(action.default))
            assert "(default" in text, f"`{' '.join(path)} {name}` does not show its default: {text!r}"
            assert value in text or "(default:" in action.help, (name, text)


@pytest.mark.parametrize("path, parser", PARSERS, ids=[" ".join(p) for p, _ in PARSERS])
def test_help_names_no_internal_file(path, parser):
    text = parser.format_help()
    assert (parser.description or "").strip(), f"`{' '.join(path)}` has no description"
    assert ".py" not in text and "jobs" not in text and "argument parsing" not in text, text


def test_the_printed_help_shows_defaults(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train-rl-chain", "--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "(default: 1 2 4 8 16)" in out and "(default: probability)" in out and "(default: 300)" in out


def test_the_formatter_leaves_flags_and_explained_defaults_alone():
    parser = argparse.ArgumentParser(formatter_class=HelpFormatter)
    parser.add_argument("--flag", action="store_true", help="a flag")
    parser.add_argument("--size", type=int, default=5, help="a size")
    parser.add_argument("--name", default="x", help="a name (default: the model's)")
    parser.add_argument("--where", default=None, help="a path")
    text = " ".join(parser.format_help().split())
    assert "a flag (default" not in text and "a path (default" not in text
    assert "a size (default: 5)" in text and "(default: the model's)" in text and "(default: x)" not in text
