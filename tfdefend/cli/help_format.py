"""The help formatter of the `tfdefend` command: every option's help shows its default."""

import argparse


class HelpFormatter(argparse.HelpFormatter):
    """Appends "(default: ...)" to an option's help unless the help already says what the default is.

    Flags (`store_true`) and options whose default is None are left as they
    are: their help says what happens without them.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("(default" in text or not action.option_strings or action.required or action.nargs == 0
                or default is None or default is argparse.SUPPRESS):
            return text
        if isinstance(default, (list, tuple)):
            if not default:  # an option that adds to a list (`--set`)
                return text
            default = " ".join(str(value) for value in default)
        return f"{text} (default: {str(default).replace('%', '%%')})"


def add_command(subparsers, name, help_text, description=None):
    """Adds sub-command `name`, with `help_text` in the command list and at the top of its own help."""
    return subparsers.add_parser(name, help=help_text, description=description or _sentence(help_text))


def _sentence(text):
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."
