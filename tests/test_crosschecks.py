"""Cross-report rules W1-W4 on crafted warehouses: each passes, fails and is uncertain."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from extract.checks import run_checks
from extract.model import Cell, Report
from extract.schema import REQUEST_COLUMNS, all_keys
from warehouse.crosschecks import deadline
from warehouse.load import DocumentMeta, load_reports
from warehouse.store import Warehouse
from warehouse.views import connect

TEMPLATES = {"disclosure": "2021", "requests": "2021"}


def report(agency: str, year: int, *, carried_over: int | None = 0, carried_forward: int = 0,
           sha: str | None = None, new: int = 0) -> Report:
    """A 2021 report; its R1 does not hold where carried-over and carried-forward differ, which
    these tests do not need."""
    values = {key: 0 for key in all_keys(TEMPLATES)}
    for col in REQUEST_COLUMNS:
        values[f"requests/carried_over/{col}"] = carried_over
        values[f"requests/carried_forward/{col}"] = carried_forward
        for row in ("new", "granted", "total"):  # all granted: R1-R3 hold when nothing carries
            values[f"requests/{row}/{col}"] = new * (len(REQUEST_COLUMNS) - 1 if col == "total"
                                                     else 1)
    result = Report(file="crafted", sha256=sha or f"{agency}{year}".encode().hex().ljust(64, "0"),
                    format="html", agency=agency, year=year, templates=dict(TEMPLATES),
                    extractor="crafted", extractor_version="1")
    result.cells = {k: Cell(k, v, "" if v is None else str(v)) for k, v in values.items()}
    result.checks = run_checks(result)
    return result


def findings(data_dir: Path, rule: str) -> list[tuple]:
    return connect(data_dir).execute(
        "SELECT scope, subject, status, expected, observed FROM quality WHERE rule = ? "
        "ORDER BY scope, subject", [rule]).fetchall()


def test_w1_continuity(tmp_path: Path) -> None:
    load_reports(Warehouse(tmp_path), [
        report("甲县人民政府", 2022, carried_forward=2),
        report("甲县人民政府", 2023, carried_over=2),            # continues: PASS
        report("乙县人民政府", 2022, carried_forward=2),
        report("乙县人民政府", 2023, carried_over=3),            # breaks: FAIL
        report("丙县人民政府", 2022, carried_forward=1),
        report("丙县人民政府", 2023, carried_over=None),         # blank: UNCERTAIN
    ])
    statuses = {(scope, status) for scope, _, status, _, _ in findings(tmp_path, "W1")}
    assert statuses == {("甲县人民政府/2023", "PASS"), ("乙县人民政府/2023", "FAIL"),
                        ("丙县人民政府/2023", "UNCERTAIN")}
    failed = [f for f in findings(tmp_path, "W1") if f[2] == "FAIL"][0]
    assert (failed[3], failed[4]) == (2, 3)  # expected last year's forward, observed this year's


def test_w2_timeliness_by_kind_of_agency() -> None:
    assert deadline("淮安市人民政府", 2023) == date(2024, 3, 31)
    assert deadline("淮安市交通运输局", 2023) == date(2024, 1, 31)


def test_w2_timeliness(tmp_path: Path) -> None:
    on_time, late, unknown = (report("甲县人民政府", 2023), report("乙市交通运输局", 2023),
                              report("丙县人民政府", 2023))
    load_reports(Warehouse(tmp_path), [on_time, late, unknown], {
        on_time.sha256: DocumentMeta(publish_date="2024-03-29"),
        late.sha256: DocumentMeta(publish_date="2024-02-10"),  # a department: due 31 January
    })
    found = {scope: (status, observed) for scope, _, status, _, observed in
             findings(tmp_path, "W2")}
    assert found == {"甲县人民政府/2023": ("PASS", 0), "乙市交通运输局/2023": ("FAIL", 10),
                     "丙县人民政府/2023": ("UNCERTAIN", None)}


def test_w3_expected_reports_missing(tmp_path: Path) -> None:
    present = report("甲县人民政府", 2023)
    load_reports(Warehouse(tmp_path), [present], {present.sha256: DocumentMeta(portal_id="p")},
                 expected_agencies={"p": ["甲县人民政府", "甲县教育局"]})
    found = {(scope, subject, status) for scope, subject, status, _, _ in
             findings(tmp_path, "W3")}
    assert found == {("p/2023", "甲县人民政府", "PASS"), ("p/2023", "甲县教育局", "FAIL")}


def test_w3_needs_a_portal_expectation(tmp_path: Path) -> None:
    load_reports(Warehouse(tmp_path), [report("甲县人民政府", 2023)])
    assert findings(tmp_path, "W3") == []


def test_w4_duplicates_agree_or_conflict(tmp_path: Path) -> None:
    same = [report("甲县人民政府", 2023, sha="a" * 64), report("甲县人民政府", 2023, sha="b" * 64)]
    differ = [report("乙县人民政府", 2023, sha="c" * 64, new=1),
              report("乙县人民政府", 2023, sha="d" * 64, new=1)]
    differ[1].cells["requests/new/total"].value = 9
    differ[1].checks = run_checks(differ[1])  # now fails R3: the other one is canonical
    load_reports(Warehouse(tmp_path), same + differ)
    found = {(scope, status) for scope, _, status, _, _ in findings(tmp_path, "W4")}
    assert found == {("甲县人民政府/2023", "PASS"), ("乙县人民政府/2023", "FAIL")}
    cells = connect(tmp_path).execute("SELECT cells, expected, observed FROM quality "
                                      "WHERE rule = 'W4' AND status = 'FAIL'").fetchone()
    assert cells == (["requests/new/total"], 6, 9)
