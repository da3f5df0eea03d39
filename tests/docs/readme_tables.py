"""README.md's Markdown tables, the `<!-- figures: ... -->` markers citing their files, and numbers.

A table that shows measured figures carries a marker on the line right above
it (blank lines and other HTML comments in between are allowed):

    <!-- figures: benchmarks/results/export_latency.json map=export_latency -->

Words with `=` are options (`map=NAME`: the row-by-row mapping of
`readme_maps.MAPS` that computes each cell from the file; `labels=N`: the first
N columns name the row and are not figures, default 1; any other option is
handed to the mapping). Without `map=`, every number of the table must be
found in the cited files at its shown precision ("pool" matching, see
`readme_match.pool_mismatches`). `<!-- figures: none (reason) -->` declares a table that
shows no measured figure.
"""

import dataclasses
import glob
import json
import math
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")

_MARKER = re.compile(r"^\s*<!--\s*figures:\s*(.*?)\s*-->\s*$")
_COMMENT = re.compile(r"^\s*<!--.*-->\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
# A figure: not glued to a word, a hyphen, a dot or a slash on its left ("PGD-10", "top-1", "8/255"), nor
# to a word or a slash on its right ("1t", "8/255"). Thousands separators, a sign (also U+2212) and an
# exponent are part of it.
NUMBER = re.compile(
    r"(?<![\w.\-/])([-+\u2212]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:[eE]([-+\u2212]?\d+))?"
    r"(?![\w/]|\.\d)(\s*%)?"
)
_UNIT_AFTER = re.compile(r"\s*(KiB|MiB|MB|kB|MFLOPs|GFLOPs|ms|min)\b")


@dataclasses.dataclass(frozen=True)
class Shown:
    """One number as the README shows it: its value and the half-width of its last shown digit."""

    value: float
    tolerance: float
    text: str
    percent: bool = False
    unit: str = ""

    def matches(self, value, scale=1.0):
        """Whether `value * scale` rounds to this number at its shown precision."""
        if value is None or isinstance(value, bool) or not math.isfinite(value):
            return False
        target = value * scale
        return abs(target - self.value) <= self.tolerance * (1 + 1e-9) + 1e-12 * max(1.0, abs(target))


def numbers_in(text):
    """The `Shown` numbers of `text`, in order (Markdown emphasis and code marks are ignored)."""
    text = text.replace("**", "").replace("`", "")
    found = []
    for match in NUMBER.finditer(text):
        sign, whole, decimals, exponent, percent = match.groups()
        decimals = decimals or ""
        exp = int(exponent.replace("\u2212", "-")) if exponent else 0
        value = float(whole.replace(",", "") + ("." + decimals if decimals else "")) * 10.0**exp
        if sign in ("-", "\u2212"):
            value = -value
        unit = _UNIT_AFTER.match(text, match.end())
        found.append(
            Shown(
                value,
                0.5 * 10.0 ** (exp - len(decimals)),
                match.group(0).strip(),
                bool(percent),
                unit.group(1) if unit else "",
            )
        )
    return found


@dataclasses.dataclass
class Marker:
    """A `<!-- figures: ... -->` comment: the files it cites and its options."""

    line: int
    sources: list
    options: dict
    none_reason: str = ""


@dataclasses.dataclass
class Table:
    """A Markdown table: header cells, body rows (cells stripped), where it is and its marker."""

    line: int
    heading: str
    header: list
    rows: list
    marker: Marker = None

    @property
    def name(self):
        return f"README.md:{self.line} ({self.heading})"


def parse_marker(text, line):
    """A `Marker` from the text inside `<!-- figures: ... -->`; raises ValueError if it names nothing."""
    if text.startswith("none"):
        reason = text[len("none") :].strip(" ()")
        if not reason:
            raise ValueError(f"README.md:{line}: 'figures: none' needs a reason in parentheses")
        return Marker(line, [], {}, none_reason=reason)
    sources, options = [], {}
    for word in text.split():
        if "=" in word:
            key, value = word.split("=", 1)
            options[key] = value
        else:
            sources.append(word)
    if not sources:
        raise ValueError(f"README.md:{line}: a figures marker must cite at least one file")
    return Marker(line, sources, options)


def _cells(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_readme(text):
    """(tables, orphan markers) of a README text: each marker binds to the table right below it."""
    lines = text.splitlines()
    tables, orphans, heading, pending, fenced = [], [], "", None, False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced:
            i += 1
            continue
        if _HEADING.match(line):
            heading = _HEADING.match(line).group(2).strip()
        marker = _MARKER.match(line)
        if marker:
            if pending is not None:
                orphans.append(pending)
            pending = parse_marker(marker.group(1), i + 1)
            i += 1
            continue
        if line.lstrip().startswith("|") and i + 1 < len(lines) and _RULE.match(lines[i + 1]):
            rows, j = [], i + 2
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                rows.append(_cells(lines[j]))
                j += 1
            tables.append(Table(i + 1, heading, _cells(line), rows, pending))
            pending = None
            i = j
            continue
        if line.strip() and pending is not None and not _COMMENT.match(line):
            orphans.append(pending)  # other comments (e.g. a generated table's start mark) may come between
            pending = None
        i += 1
    if pending is not None:
        orphans.append(pending)
    return tables, orphans


def load_sources(marker, root=ROOT):
    """{path: data} for a marker's files (globs expanded): JSON parsed, other files as text."""
    data = {}
    for pattern in marker.sources:
        paths = (
            sorted(glob.glob(os.path.join(root, pattern)))
            if any(c in pattern for c in "*?[")
            else [os.path.join(root, pattern)]
        )
        if not paths or not all(os.path.isfile(p) for p in paths):
            raise FileNotFoundError(f"README.md:{marker.line}: cited file {pattern!r} does not exist")
        for path in paths:
            with open(path, encoding="utf-8") as handle:
                data[os.path.relpath(path, root)] = (
                    json.load(handle) if path.endswith(".json") else handle.read()
                )
    return data


def label(cell):
    """A row label without Markdown emphasis or code marks."""
    return cell.replace("**", "").replace("`", "").strip()


def pct(value):
    """A fraction as a percentage."""
    return 100.0 * value


def lookup(table, key, what):
    """`table[key]`, or KeyError saying which `what` the file lacks and which it has."""
    if key not in table:
        raise KeyError(f"{what} {key!r} is not in the file (it has {', '.join(map(str, table))})")
    return table[key]
