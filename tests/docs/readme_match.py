"""Matching README table cells against the cited files: "pool" matching and row-by-row expectations."""

import math
import re

from tests.docs.readme_tables import numbers_in

_UNITS = {
    "KiB": (1 / 1024,),
    "MiB": (1 / 2**20,),
    "MB": (1.0, 1e-6, 1 / 2**20),
    "kB": (1e-3,),
    "MFLOPs": (1e-6,),
    "GFLOPs": (1e-9,),
    "ms": (1.0, 1e3),
    "min": (1.0, 1 / 60),
}


def _leaves(data):
    """Every number of a JSON value (not those inside its strings), and every (mean, std) pair it holds."""
    values, pairs = [], []

    def walk(node):
        if isinstance(node, bool) or node is None:
            return
        if isinstance(node, (int, float)):
            values.append(float(node))
        elif isinstance(node, dict):
            if isinstance(node.get("mean"), (int, float)) and isinstance(node.get("std"), (int, float)):
                pairs.append((float(node["mean"]), float(node["std"])))
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            numbers = [float(x) for x in node if isinstance(x, (int, float)) and not isinstance(x, bool)]
            if len(numbers) == len(node) and len(numbers) >= 2:
                mean = sum(numbers) / len(numbers)
                squares = sum((x - mean) ** 2 for x in numbers)
                pairs.extend(
                    [
                        (mean, math.sqrt(squares / len(numbers))),
                        (mean, math.sqrt(squares / (len(numbers) - 1))),
                    ]
                )
            for child in node:
                walk(child)

    walk(data)
    return values, pairs


def _scales(shown, header):
    scales = [1.0, 100.0]
    unit = shown.unit or next((u for u in _UNITS if re.search(rf"\b{u}\b", header)), "")
    return scales + list(_UNITS.get(unit, ()))


def pool_mismatches(table, data, labels=1):
    """Each number of `table` (beyond its `labels` row-naming columns) that no cited file holds.

    A number matches when some value of the files, times 1 or 100 (fraction
    shown as percent) or the unit's factor (KiB, MB, MFLOPs, ms, ...), rounds
    to it at its shown precision. "a ± b" must match one (mean, std) pair: a
    dict with `mean`/`std`, or the mean and standard deviation (n or n-1) of a
    list of per-seed values.
    """
    values, pairs = [], []
    for item in data.values():
        if isinstance(item, str):  # a text file the benchmark wrote (e.g. table.md): the numbers it shows
            values += [n.value for n in numbers_in(item)]
            continue
        more_values, more_pairs = _leaves(item)
        values += more_values
        pairs += more_pairs
    problems = []
    for row in table.rows:
        for column, cell in enumerate(row[labels:], start=labels):
            header = table.header[column] if column < len(table.header) else ""
            for part in re.split(r"\s*/\s*(?=[^/]*\d)", cell):
                shown = numbers_in(part)
                if "±" in part and len(shown) == 2:
                    mean, std = shown
                    if not any(
                        mean.matches(m, s) and std.matches(d, s)
                        for m, d in pairs
                        for s in _scales(mean, header)
                    ):
                        problems.append(
                            f"{' | '.join(row[:labels])} [{header}]: '{part}' is no mean ± std "
                            "of the cited files"
                        )
                    continue
                for number in shown:
                    if not any(number.matches(v, s) for s in _scales(number, header) for v in values):
                        problems.append(
                            f"{' | '.join(row[:labels])} [{header}]: {number.text} is not in the "
                            "cited files at its shown precision"
                        )
    return problems


def expected_mismatches(table, expected_rows, labels=1):
    """Compares each cell with the mapping's expectation.

    `expected_rows[i]` is, for body row i, {header: expected} where expected is
    a list of numbers (in the units shown, in the order shown), or None for a
    cell that must hold no number. A numeric cell outside the label columns
    that the mapping does not cover is an error too.
    """
    problems = []
    for row, expected in zip(table.rows, expected_rows):
        label = " | ".join(cell.replace("**", "") for cell in row[:labels])
        if isinstance(expected, str):
            problems.append(f"{label}: {expected}")
            continue
        for column, cell in enumerate(row):
            header = table.header[column] if column < len(table.header) else ""
            shown = numbers_in(cell)
            if header not in expected:
                if column >= labels and shown:
                    problems.append(f"{label} [{header}]: '{cell}' has numbers the mapping does not check")
                continue
            want = expected[header]
            if want is None:
                if shown:
                    problems.append(f"{label} [{header}]: '{cell}' should be empty (the file has no value)")
                continue
            if len(shown) != len(want):
                problems.append(
                    f"{label} [{header}]: '{cell}' shows {len(shown)} numbers, the file gives "
                    f"{len(want)}: {_fmt(want)}"
                )
                continue
            for number, value in zip(shown, want):
                # A tuple: one number shown for several values (one l0 for every eps): each rounds to it.
                if not all(number.matches(v) for v in (value if isinstance(value, tuple) else (value,))):
                    problems.append(
                        f"{label} [{header}]: shows {number.text}, the file gives {_fmt([value])}"
                    )
    return problems


def _fmt(values):
    def one(v):
        if isinstance(v, tuple):
            return "(" + _fmt(v) + ")"
        return "None" if v is None else f"{v:.6g}"

    return ", ".join(one(v) for v in values)
