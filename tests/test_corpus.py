"""Every answer key of the corpus matches exactly: every cell, values and nulls, for every file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from extract import extract_document
from extract.model import summarise
from tests.conftest import corpus_cases

CASES = [pytest.param(path, key, id=path.name,
                      marks=[pytest.mark.slow] if path.suffix == ".doc" else [])
         for path, key in corpus_cases()]


@pytest.fixture(scope="module")
def reports() -> dict[Path, object]:
    return {}


def _report(path: Path, cache: dict):
    if path not in cache:
        cache[path] = extract_document(path)
    return cache[path]


@pytest.mark.parametrize("path,key", CASES)
def test_every_cell_matches_the_answer_key(path: Path, key: dict, reports: dict) -> None:
    report = _report(path, reports)
    assert report.error is None
    # The Shanghai key's sha256 is not that of the corpus file (a collector's transcription), so
    # the digest is checked against the bytes themselves.
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    got = report.values()
    assert set(got) == set(key["cells"]), "cell keys differ"
    wrong = {k: (key["cells"][k], got[k]) for k in key["cells"] if got[k] != key["cells"][k]}
    assert not wrong, f"(expected, got): {wrong}"
    # 1 == 1.0 in Python: the type must match too (counts are integers).
    assert all(type(got[k]) is type(v) or v is None for k, v in key["cells"].items())


@pytest.mark.parametrize("path,key", CASES)
def test_metadata_and_templates_match(path: Path, key: dict, reports: dict) -> None:
    report = _report(path, reports)
    assert report.agency == key["agency"]
    assert report.year == key["year"]
    assert report.templates == key["templates"]


@pytest.mark.parametrize("path,key", CASES)
def test_checks_report_what_the_printed_numbers_say(path: Path, key: dict, reports: dict) -> None:
    summary = summarise(_report(path, reports).checks)
    assert {rule: summary[rule] for rule in key["expected_checks"]} == key["expected_checks"]
    assert summary["R5"] == "PASS" and summary["R6"] == "PASS"


def test_cells_keep_where_they_came_from(data_dir: Path) -> None:
    """Provenance: raw text, page and row label as printed (table 三 split over pp.3-4)."""
    report = extract_document(data_dir / "hongze_district_2023.pdf")
    typo = report.cells["requests/denied_law/natural_person"]
    assert typo.row_label == "2.其他法律行政止公开" and typo.page == 3
    assert typo.matched_label == "2.其他法律行政止公开"
    continued = report.cells["requests/unable_unclear/total"]
    assert continued.page == 4 and continued.raw == "0"
    # its R4 failure is the document's own arithmetic, no structural doubt: the fast reading
    # stands alone (pdfplumber and camelot are not asked)
    assert report.extractor == "pdfium-grid" and report.extractor_version
    assert report.readers == ["pdfium-grid"] and report.anomalies == []


def test_amount_printed_in_yuan_is_converted_and_raw_kept(data_dir: Path) -> None:
    report = extract_document(data_dir / "shanghai_gov_office_2019.html")
    cell = report.cells["disclosure/procurement/amount"]
    assert cell.value == 25.1 and cell.raw == "251000元"


def test_blank_cell_is_null_not_zero(data_dir: Path) -> None:
    report = extract_document(data_dir / "shanghai_gov_office_2019.html")
    blank = report.cells["requests/new/research"]
    assert blank.value is None and blank.raw.strip() == ""
    r1 = [c for c in report.checks if c.rule == "R1" and c.subject == "requests/*/research"]
    assert r1 and r1[0].status.value == "UNCERTAIN"


def test_signed_change_keeps_its_sign(data_dir: Path) -> None:
    report = extract_document(data_dir / "weihai_2020.docx")
    assert report.cells["disclosure/licensing/change"].raw == "+113"
    assert report.values()["disclosure/fees/change"] == -1
