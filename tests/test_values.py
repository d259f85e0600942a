"""The value normaliser: printed text -> number or null (blank is never zero)."""

from __future__ import annotations

from pathlib import Path

import pytest

from extract import extract_document
from extract.model import Status
from extract.values import is_unparseable, is_value_token, parse_value
from tests.conftest import DATA, load_key
from warehouse.load import load_reports
from warehouse.store import Warehouse
from warehouse.views import connect


@pytest.mark.parametrize("raw,expected", [
    ("12", 12),
    ("１２３", 123),            # full-width digits
    ("0 ", 0),                  # "0 " with a trailing space
    ("\xa00", 0),               # NBSP before the number (weihai)
    (" 5\n", 5),
    ("3,985,758", 3985758),     # thousands separators
    ("1，234", 1234),           # full-width comma
    ("+113", 113),              # signed change
    ("-1", -1),
    ("－3", -3),                # full-width minus
    ("11522.96万元", 11522.96),
    ("7545", 7545),
    ("96171.6", 96171.6),
    ("12件", 12),
])
def test_numbers(raw: str, expected: int | float) -> None:
    value = parse_value(raw)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("raw", ["", " ", "\xa0", None, "—", "——", "-", "/", "无", "空", "不详",
                                 "见附件"])
def test_blank_dash_and_text_are_null(raw: str | None) -> None:
    assert parse_value(raw) is None


def test_amount_in_yuan_is_converted_to_wan_yuan() -> None:
    assert parse_value("251000元", amount=True) == 25.1
    assert parse_value("251000元", amount=False) == 251000  # only amount cells carry 万元
    assert parse_value("3.5万元", amount=True) == 3.5


@pytest.mark.parametrize("raw,token", [("0", True), ("无", True), ("", True), ("—", True),
                                       ("+3", True), ("规章", False), ("本年增/减", False),
                                       ("2023年", False), (None, False)])
def test_value_tokens_are_told_from_labels(raw: str | None, token: bool) -> None:
    assert is_value_token(raw) is token


@pytest.mark.parametrize("raw", ["5a4", "52O", "1O0", "12.5.3", "3l"])
def test_misprinted_numbers_are_values_not_labels(raw: str) -> None:
    assert is_value_token(raw) and is_unparseable(raw) and parse_value(raw) is None


@pytest.mark.parametrize("raw,unparseable", [("12", False), ("", False), ("—", False),
                                             ("无", False), ("不详", True), ("5a4", True)])
def test_unparseable_is_printed_text_that_is_neither_number_nor_blank(
        raw: str, unparseable: bool) -> None:
    assert is_unparseable(raw) is unparseable


# --- bad values in a real document: weihai 2020 saved as text (tab cell lines) -------------------

def _weihai_text_with(tmp_path: Path, **swaps: str) -> Path:
    """The real weihai 2020 text report with printed cells replaced (``{"188": "1B8"}``), as a
    retyped or OCRed copy prints them."""
    lines = (DATA / "weihai_2020.txt").read_text(encoding="utf-8").split("\n")
    for printed, misprinted in swaps.items():
        at = lines.index(f"\t{printed}")  # the first cell printing it
        lines[at] = f"\t{misprinted}"
    path = tmp_path / "weihai_2020_retyped.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _findings(report, rule: str) -> dict[str, str]:
    return {c.subject: c.message for c in report.checks
            if c.rule == rule and c.status is Status.FAIL}


def test_a_letter_in_a_number_cell_nulls_that_cell_and_keeps_its_row(tmp_path: Path) -> None:
    key = load_key("weihai_2020")["cells"]
    report = extract_document(_weihai_text_with(tmp_path, **{"188": "1B8"}))
    assert report.error is None
    cell = report.cells["disclosure/licensing/prev_count"]
    assert cell.value is None and cell.raw == "1B8"
    # the rest of the row, and every other cell, as the answer key reads them
    assert (report.values()["disclosure/licensing/change"] == key["disclosure/licensing/change"]
            == 113)
    assert report.values()["disclosure/licensing/decisions"] == 20373
    others = {k: v for k, v in report.values().items() if k != "disclosure/licensing/prev_count"}
    assert others == {k: v for k, v in key.items() if k != "disclosure/licensing/prev_count"}
    assert "'1B8' is not a number" in _findings(report, "unparseable_value")[
        "disclosure/licensing/prev_count"]
    assert _findings(report, "R5") == {}  # no cell is missing


def test_a_fraction_in_a_count_cell_is_a_finding_and_kept_as_printed(tmp_path: Path) -> None:
    report = extract_document(_weihai_text_with(tmp_path, **{"20373": "20373.5"}))
    assert report.values()["disclosure/licensing/decisions"] == 20373.5
    # the amount (11522.96万元) is a fraction too, but amounts are not counts
    assert report.values()["disclosure/procurement/amount"] == 11522.96
    assert list(_findings(report, "fractional_count")) == ["disclosure/licensing/decisions"]
    assert _findings(report, "unparseable_value") == {}


def test_value_findings_reach_the_quality_table(tmp_path: Path) -> None:
    report = extract_document(_weihai_text_with(tmp_path, **{"188": "52O", "20373": "20373.5"}))
    load_reports(Warehouse(tmp_path / "data"), [report])
    con = connect(tmp_path / "data")
    rows = con.execute("SELECT rule, subject, status, observed, cells FROM quality "
                       "WHERE rule IN ('unparseable_value', 'fractional_count') "
                       "ORDER BY rule").fetchall()
    assert rows == [
        ("fractional_count", "disclosure/licensing/decisions", "FAIL", 20373.5,
         ["disclosure/licensing/decisions"]),
        ("unparseable_value", "disclosure/licensing/prev_count", "FAIL", None,
         ["disclosure/licensing/prev_count"])]
    raw = con.execute("SELECT value, raw FROM cells WHERE \"table\" = 'disclosure' AND "
                      "\"row\" = 'licensing' AND col = 'prev_count'").fetchall()
    assert raw == [(None, "52O")]


@pytest.mark.parametrize("swaps", [{"188": "不详"}, {"20373": "暂无"},
                                   {"188": "不详", "20373": "暂无"}])
def test_a_word_in_a_number_cell_nulls_that_cell_and_keeps_its_row(
        tmp_path: Path, swaps: dict[str, str]) -> None:
    """Words printed where numbers belong, inside the row or at its end, are not its label."""
    key = load_key("weihai_2020")["cells"]
    report = extract_document(_weihai_text_with(tmp_path, **swaps))
    keys = {"188": "disclosure/licensing/prev_count", "20373": "disclosure/licensing/decisions"}
    for printed, word in swaps.items():
        cell = report.cells[keys[printed]]
        assert cell.value is None and cell.raw == word
    assert report.values()["disclosure/licensing/change"] == 113
    assert set(_findings(report, "unparseable_value")) == {keys[p] for p in swaps}
    swapped = {keys[p] for p in swaps}
    assert {k: v for k, v in report.values().items() if k not in swapped} == {
        k: v for k, v in key.items() if k not in swapped}
