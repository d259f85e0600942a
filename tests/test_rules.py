"""The rule registry (extract/rules.py): every finding a load writes names a registered rule and
has its registered scope; the docs list exactly the registry; each rule is computed where the
registry says; findings of every kind become quality rows in one place."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from extract import extract_document
from extract.checks import SUM_RULES, run_checks
from extract.model import CheckResult, Finding, Status
from extract.rules import READING_RULES, RULES, RuleKind, Scope, rules_markdown, with_scope
from flows.summary import markdown, warehouse_findings
from tests.conftest import DATA
from tests.test_crosschecks import report
from warehouse.load import DocumentMeta, load_reports
from warehouse.quality import quality_rows
from warehouse.store import Warehouse
from warehouse.views import connect

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> tuple[Path, str]:
    """One load meeting every rule but OCR: continuity over two years, a late department, a
    portal expecting a body it has no report for, two conflicting copies, a cell that prints no
    number and a count printed with a fraction."""
    data = tmp_path_factory.mktemp("rules") / "data"
    reports = [report("甲县人民政府", 2022, carried_forward=2),
               report("甲县人民政府", 2023, carried_over=3),  # W1 FAIL, R1 FAIL
               report("乙市交通运输局", 2023),
               report("丙县人民政府", 2023, sha="c" * 64, new=1),
               report("丙县人民政府", 2023, sha="d" * 64, new=1)]
    odd = reports[4]
    odd.cells["requests/new/total"].value = 9  # W4: the copies differ
    odd.cells["disclosure/licensing/decisions"].value = 2.5
    odd.cells["disclosure/licensing/decisions"].raw = "2.5"
    odd.cells["requests/granted/research"].value = None
    odd.cells["requests/granted/research"].raw = "52O"
    odd.checks = run_checks(odd)
    metas = {r.sha256: DocumentMeta(publish_date="2024-02-10", portal_id="p") for r in reports}
    result = load_reports(Warehouse(data), reports, metas,
                          expected_agencies={"p": ["甲县人民政府", "甲县教育局"]})
    return data, result.run_id


def registered_rules(data: Path, expected: dict[str, list[str]]) -> set[str]:
    """The rules of every finding in ``data``, each checked to be registered and to have the
    scope its registry entry names."""
    rows = connect(data).execute(
        "SELECT rule, scope, report_id, subject FROM quality_history").fetchall()
    for rule, scope, report_id, subject in rows:
        registered = RULES[rule].scope
        if registered is Scope.REPORT:
            assert scope == "report" and report_id, (rule, scope)
        elif registered is Scope.AGENCY_YEAR:
            assert re.fullmatch(r"[^/:]+/\d{4}", scope), (rule, scope)
        elif registered is Scope.PORTAL_YEAR:
            portal, year = scope.split("/")
            assert subject in expected[portal] and year.isdigit(), (rule, scope)
        else:
            assert re.fullmatch(r"agency:[^/]+/\d{4}", scope), (rule, scope)
    return {rule for rule, *_ in rows}


def test_every_rule_a_load_writes_is_registered_with_its_scope(loaded) -> None:
    data, _ = loaded
    written = registered_rules(data, {"p": ["甲县人民政府", "甲县教育局"]})
    assert written == set(RULES) - {"OCR"}  # every rule ran; no image was read by OCR


@pytest.mark.slow
def test_the_corpus_findings_are_registered(tmp_path: Path) -> None:
    """The real documents of tests/data (PDF, HTML, DOCX, DOC), loaded as one portal's."""
    documents = sorted(p for p in DATA.iterdir() if p.suffix in (".pdf", ".html", ".docx", ".doc"))
    reports = [extract_document(p) for p in documents]
    metas = {r.sha256: DocumentMeta(publish_date="2024-02-10", portal_id="p", region="江苏省")
             for r in reports}
    expected = {"p": ["淮安市人民政府", "淮安市教育局"]}
    load_reports(Warehouse(tmp_path), reports, metas, expected_agencies=expected)
    written = registered_rules(tmp_path, expected)
    assert {"R1", "R2", "R3", "R4", "R5", "R6", "W1", "W2", "W3", "A1"} <= written


def test_the_summary_reads_the_registry(loaded) -> None:
    data, run_id = loaded
    failures, rates = warehouse_findings(data, run_id)
    missing = [f for f in failures if f["rule"] in with_scope(Scope.PORTAL_YEAR)]
    assert sorted((f["portal"], f["agency"], f["year"]) for f in missing) == [
        ("p", "甲县教育局", 2022), ("p", "甲县教育局", 2023)]
    assert {r["rule"]: r["name"] for r in rates} == {
        rule: RULES[rule].name for rule in set(RULES) - {"OCR"}}
    w1 = next(r for r in rates if r["rule"] == "W1")
    assert (w1["pass"], w1["fail"]) == (0, len([f for f in failures if f["rule"] == "W1"]))


def test_summary_markdown_names_each_rule() -> None:
    from flows.summary import RunSummary
    from warehouse.load import LoadResult

    summary = RunSummary("r", [], LoadResult("r"), pass_rates=[
        {"rule": "W2", "name": RULES["W2"].name, "pass": 1, "fail": 1, "uncertain": 0,
         "pass_rate": 0.5}])
    assert "| W2 | timeliness | 1 | 1 | 0 | 50% |" in markdown(summary)


def test_findings_of_every_kind_become_rows_in_one_place() -> None:
    report_level = Finding(CheckResult("R4", Status.FAIL, "appeals/reconsideration/*",
                                       "total = …: 3 ≠ 4", ["appeals/reconsideration/total"],
                                       3, 4), "report", "rid")
    cross = Finding(CheckResult("W2", Status.UNCERTAIN, "publish_date", "date unknown"),
                    "320813-gov/2023", "rid2")
    assert quality_rows([report_level, cross], "run") == [
        {"run_id": "run", "report_id": "rid", "scope": "report", "rule": "R4",
         "subject": "appeals/reconsideration/*", "status": "FAIL",
         "message": "total = …: 3 ≠ 4", "expected": 3.0, "observed": 4.0,
         "cells": ["appeals/reconsideration/total"]},
        {"run_id": "run", "report_id": "rid2", "scope": "320813-gov/2023", "rule": "W2",
         "subject": "publish_date", "status": "UNCERTAIN", "message": "date unknown",
         "expected": None, "observed": None, "cells": []}]


def test_each_rule_is_computed_where_the_registry_says() -> None:
    for rule in RULES.values():
        module, function = rule.computed_by.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), function)), rule.id
    assert {s.rule for s in SUM_RULES} == {r.id for r in RULES.values() if r.sums}
    assert all(s.rule == r.id for r in RULES.values() for s in r.sums)
    assert all(r.kind is RuleKind.REPORT for r in RULES.values() if r.sums)
    # readings are ranked by the arithmetic and completeness rules only (extract/document.py)
    assert READING_RULES == {"R1", "R2", "R3", "R4", "R5"}


def test_the_docs_list_exactly_the_registry() -> None:
    table = "\n".join(rules_markdown())
    for doc in ("design.md", "data-dictionary.md"):
        text = (DOCS / doc).read_text(encoding="utf-8")
        assert table in text, f"docs/{doc}: rewrite its rule table from extract.rules"
        listed = re.findall(r"^\| ([A-Za-z0-9_]+) \| .* \| `[\w.]+` \|$", text, re.MULTILINE)
        assert listed == list(RULES), doc


@pytest.mark.parametrize("query", ["arithmetic_failures.sql", "arithmetic_failure_rates.sql"])
def test_the_arithmetic_queries_select_the_registered_sum_rules(query: str) -> None:
    """The research queries on "the format's own arithmetic" name exactly the rules the
    registry computes from the SumRule table."""
    sql = (DOCS / "queries" / query).read_text(encoding="utf-8")
    (selected,) = re.findall(r"rule IN \(([^)]*)\)", sql)
    assert set(re.findall(r"'(\w+)'", selected)) == {r.id for r in RULES.values() if r.sums}
