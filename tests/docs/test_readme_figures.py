"""Every README table that cites a results file shows exactly that file's figures.

A table of measured figures carries `<!-- figures: FILE... [map=NAME] -->` on
the line above it (see `readme_tables`); this test loads the cited files and
compares every number of the table with them, so a rerun benchmark, an edited
table or a typo cannot drift apart unnoticed. Prose claims are checked in
`test_readme_claims.py`.
"""

import re

import pytest

from tests.docs import readme_tables
from tests.docs.readme_maps import MAPS, check_table

# Tables in README parts other sessions are still rewriting (issue 19), by heading. They need a marker
# (the coordinator adds it, then removes the heading here); a listed heading whose tables all have a
# marker fails `test_awaiting_list_is_current`, so the list only shrinks.
AWAITING_MARKER = set()


def _readme():
    with open(readme_tables.README, encoding="utf-8") as handle:
        return handle.read()


TABLES, ORPHANS = readme_tables.parse_readme(_readme())
MARKED = [table for table in TABLES if table.marker is not None and table.marker.sources]


def _shows_figures(table):
    """Whether a table shows something measured: a decimal number or a percentage outside its first column."""
    return any(
        number.percent or "." in number.text or "e" in number.text.lower()
        for row in table.rows
        for cell in row[1:]
        for number in readme_tables.numbers_in(cell)
    )


def test_readme_has_marked_tables():
    assert len(MARKED) >= 10, [table.name for table in MARKED]


def test_every_marker_sits_right_above_a_table():
    assert not ORPHANS, [
        f"README.md:{marker.line}: a figures marker with no table below it" for marker in ORPHANS
    ]


def test_markers_name_existing_mappings():
    unknown = [
        f"{table.name}: map={table.marker.options['map']}"
        for table in MARKED
        if table.marker.options.get("map", next(iter(MAPS))) not in MAPS
    ]
    assert not unknown, f"unknown mappings (readme_maps.MAPS has {sorted(MAPS)}): {unknown}"


@pytest.mark.parametrize("table", MARKED, ids=[f"line{table.line}" for table in MARKED])
def test_table_figures_match_cited_files(table):
    problems = check_table(table)
    assert not problems, f"{table.name}, cites {' '.join(table.marker.sources)}:\n  " + "\n  ".join(problems)


def test_every_table_of_figures_cites_its_file():
    unmarked = [
        table.name
        for table in TABLES
        if table.marker is None and table.heading not in AWAITING_MARKER and _shows_figures(table)
    ]
    assert not unmarked, (
        "tables of figures without a `<!-- figures: FILE -->` (or `figures: none (reason)`) "
        f"marker: {unmarked}"
    )


def test_awaiting_list_is_current():
    headings = set(re.findall(r"^#{1,6}\s+(.*?)\s*$", _readme(), flags=re.MULTILINE))

    def stale(heading):
        under = [table for table in TABLES if table.heading == heading]
        return heading not in headings or (under and all(table.marker is not None for table in under))

    listed = [heading for heading in sorted(AWAITING_MARKER) if stale(heading)]
    assert not listed, (
        f"remove from AWAITING_MARKER (no such heading, or all its tables are marked): {listed}"
    )
