"""Helpers for checking the README's prose figures against the files that hold them."""

import functools
import json
import os
import re

from tests.docs.readme_tables import README, ROOT, numbers_in


@functools.lru_cache(maxsize=1)
def readme_text():
    """README.md with Markdown emphasis removed and every run of whitespace made one space."""
    with open(README, encoding="utf-8") as handle:
        return re.sub(r"\s+", " ", handle.read().replace("**", ""))


def load(path):
    """A results file (relative to the repository root): JSON parsed, other files as text."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        return json.load(handle) if path.endswith(".json") else handle.read()


def shown(pattern, text=None):
    """The numbers captured by `pattern`'s groups in the one place of the README it matches.

    `pattern` is a regular expression over the README with single spaces
    (see `readme_text`; `text` replaces the README); it must match exactly once, so a reworded or
    duplicated claim fails loudly instead of going unchecked.
    """
    matches = list(re.finditer(pattern, readme_text() if text is None else text))
    assert len(matches) == 1, f"the README claim /{pattern}/ is found {len(matches)} times (expected once)"
    numbers = []
    for group in matches[0].groups():
        found = numbers_in(group)
        assert len(found) == 1, f"group {group!r} of /{pattern}/ is not one number"
        numbers.append(found[0])
    return numbers


def check(pattern, expected, scale=1.0, text=None):
    """Asserts that each number of the README claim `pattern` is its `expected` value, rounded as shown."""
    numbers = shown(pattern, text)
    assert len(numbers) == len(expected), (pattern, expected)
    wrong = [
        f"shows {number.text}, the file gives {value:.6g}"
        for number, value in zip(numbers, expected)
        if not number.matches(value, scale)
    ]
    assert not wrong, f"README claim /{pattern}/: " + "; ".join(wrong)


def ratio_range(values):
    """(min, max) of an iterable."""
    values = list(values)
    return min(values), max(values)
