"""The README figure checker itself: it must find drift, and must not flag what is not a figure."""

import copy
import json
import os

import pytest

from tests.docs import readme_claims, readme_match, readme_tables
from tests.docs.readme_maps import check_table


def _values(text):
    return [n.value for n in readme_tables.numbers_in(text)]


def test_numbers_skip_names_settings_and_units():
    assert _values("PGD-10 8/255, top-1, float 1t XNNPACK, fgsm16") == []
    assert _values("30.8% / 16.0% / 8.8%") == [30.8, 16.0, 8.8]
    assert _values("1,000 images, **100 / 69**, 6.69e+05, 15–24, −2.1") == [
        1000,
        100,
        69,
        669000,
        15,
        24,
        -2.1,
    ]
    shown = readme_tables.numbers_in("1832 KiB and 99.5%")
    assert (shown[0].unit, shown[1].percent) == ("KiB", True)


def test_precision_is_the_last_shown_digit():
    [shown] = readme_tables.numbers_in("153.9")
    assert shown.matches(153.948593 / 1) and not shown.matches(154.0)
    [shown] = readme_tables.numbers_in("154.0")
    assert not shown.matches(153.948593)
    [shown] = readme_tables.numbers_in("94.2%")
    assert shown.matches(0.942, 100) and shown.matches(94.25) and not shown.matches(94.3)


def _table(text):
    tables, orphans = readme_tables.parse_readme(text)
    assert not orphans
    return tables[0]


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return name


def test_pool_matching_accepts_the_file_and_names_each_drifted_number(tmp_path):
    source = _write(
        tmp_path,
        "r.json",
        {"runs": {"a": {"acc": [0.70, 0.75, 0.74], "ms": 2.608}}, "summary": {"mean": 0.5, "std": 0.1}},
    )
    good = (
        f"<!-- figures: {source} -->\n| model | acc | ms | other |\n|---|---|---|---|\n"
        "| a 8/255 | 73.00 ± 2.65 | 2.608 | 50.0 ± 10.0 |\n"
    )
    table = _table(good)
    assert readme_match.pool_mismatches(table, readme_tables.load_sources(table.marker, tmp_path)) == []
    bad = _table(good.replace("2.608", "2.61 / 9.9").replace("± 2.65", "± 3.50"))
    problems = readme_match.pool_mismatches(bad, readme_tables.load_sources(bad.marker, tmp_path))
    assert len(problems) == 2 and "9.9" in problems[1] and "a 8/255" in problems[1]
    assert "73.00 ± 3.50" in problems[0]


def test_markers_bind_to_the_table_below_and_orphans_are_found():
    text = (
        "<!-- figures: a.json map=x labels=2 -->\n\n<!-- zoo-table:start -->\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n"
        "<!-- figures: b.json -->\nsome prose\n\n```\n| not | a table |\n|---|---|\n```\n"
    )
    tables, orphans = readme_tables.parse_readme(text)
    assert len(tables) == 1 and tables[0].marker.sources == ["a.json"]
    assert tables[0].marker.options == {"map": "x", "labels": "2"}
    assert [m.sources for m in orphans] == [["b.json"]]
    with pytest.raises(ValueError, match="reason"):
        readme_tables.parse_readme("<!-- figures: none -->\n| a |\n|---|\n| 1 |\n")


def test_mapped_cells_must_show_exactly_the_expected_numbers():
    table = _table(
        "| row | one | two | three | four |\n|---|---|---|---|---|\n| r | 589 | 1.5 / 2.0 | 7 | ε |\n"
    )
    expected = [{"one": [(588.55, 589.15)], "two": [1.5, 2.06], "four": None}]
    problems = readme_match.expected_mismatches(table, expected)
    assert problems == [
        "r [two]: shows 2.0, the file gives 2.06",
        "r [three]: '7' has numbers the mapping does not check",
    ]
    assert readme_match.expected_mismatches(table, [{"one": [588.55, 589.15]}])[0].startswith(
        "r [one]: '589' shows 1"
    )
    assert readme_match.expected_mismatches(table, ["row 'r' is not in the file"]) == [
        "r: row 'r' is not in the file"
    ]


def test_a_real_mapping_reports_a_drifted_cell_of_the_real_table(tmp_path):
    tables, _ = readme_tables.parse_readme(open(readme_tables.README, encoding="utf-8").read())
    [table] = [t for t in tables if t.marker is not None and t.marker.options.get("map") == "export_latency"]
    [source] = table.marker.sources
    with open(os.path.join(readme_tables.ROOT, source), encoding="utf-8") as handle:
        data = json.load(handle)
    os.makedirs(tmp_path / os.path.dirname(source))
    _write(tmp_path, source, data)
    assert check_table(table, root=tmp_path) == []
    drifted = copy.deepcopy(data)
    drifted["models"]["dae_fashion_mnist"]["tflite"]["int8"]["ms_2_threads"] *= 1.1
    del drifted["models"]["small_cnn_digits"]
    _write(tmp_path, source, drifted)
    problems = check_table(table, root=tmp_path)
    assert len(problems) == 2, problems
    assert problems[0].startswith("small_cnn_digits: not in the cited file")
    assert problems[1].startswith("dae_fashion_mnist [int8 2t XNNPACK]: shows 0.230")


def test_a_prose_claim_must_be_found_once_and_match_its_computed_values():
    text = "int8 is 1.15–1.69× faster; elsewhere 0.5."
    readme_claims.check(r"int8 is (\S+)–(\S+)× faster", [1.151, 1.686], text=text)
    with pytest.raises(AssertionError, match="shows 1.69, the file gives 1.6"):
        readme_claims.check(r"int8 is (\S+)–(\S+)× faster", [1.151, 1.6], text=text)
    with pytest.raises(AssertionError, match="found 0 times"):
        readme_claims.check(r"int8 is (\S+)× slower", [1.0], text=text)
