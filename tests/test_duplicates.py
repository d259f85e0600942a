"""W4 (duplicate reports disagree) checked again only where a load changed a scope: a scope
with a new copy or a moved canonical flag is checked whole, the other scopes keep the findings
of the run that last checked them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from extract.checks import run_checks
from extract.model import Report
from extract.schema import all_keys
from tests.test_crosschecks import TEMPLATES, report
from warehouse.agencies import Registry
from warehouse.crosschecks import cross_report_findings
from warehouse.duplicates import changed_scopes, pairs
from warehouse.load import DocumentMeta, load_reports, report_id
from warehouse.store import Warehouse
from warehouse.views import connect

AGENCY = "甲县人民政府"


def _w4(data_dir: Path, view: str = "quality") -> list[tuple]:
    return connect(data_dir).execute(
        f"SELECT scope, report_id, status, message, expected, observed, cells, run_id "
        f"FROM {view} WHERE rule = 'W4' ORDER BY scope, report_id").fetchall()


def _copy(year: int, sha: str, *, new: int = 1, total: float | None = None) -> Report:
    """A report of AGENCY for ``year``; ``total`` replaces requests/new/total (R3 then
    fails, so the copy is never canonical while another one passes)."""
    result = report(AGENCY, year, sha=sha * 64, new=new)
    if total is not None:
        result.cells["requests/new/total"].value = total
        result.checks = run_checks(result)
    return result


def test_w4_scope_with_a_new_canonical_copy_is_checked_whole(tmp_path: Path) -> None:
    agree = [_copy(2022, "a"), _copy(2022, "b")]
    first, disagrees = _copy(2023, "c"), _copy(2023, "d", total=9)
    load_reports(Warehouse(tmp_path), [*agree, first, disagrees], {
        first.sha256: DocumentMeta(publish_date="2024-01-10"),
        disagrees.sha256: DocumentMeta(publish_date="2024-01-10")})
    shared = len(all_keys(TEMPLATES))
    before = _w4(tmp_path)
    run1 = before[0][7]
    assert [row[:7] for row in before] == [
        (f"{AGENCY}/2022", min(report_id(r) for r in agree), "PASS",
         f"all {shared} shared cells agree with the canonical report", None, None, []),
        (f"{AGENCY}/2023", report_id(disagrees), "FAIL",
         f"1 of {shared} shared cells differ from the canonical report", 6, 9,
         ["requests/new/total"])]

    # A later copy of the 2023 report, the same as the first: the canonical flag moves to it,
    # so both older copies of 2023 are compared with it again (the first one, canonical before,
    # for the first time); 2022 changed nothing and keeps the first run's finding.
    newer = _copy(2023, "e")
    result = load_reports(Warehouse(tmp_path), [newer],
                          {newer.sha256: DocumentMeta(publish_date="2024-02-01")})
    canonical = connect(tmp_path).execute(
        "SELECT report_id FROM reports WHERE canonical AND year = 2023").fetchall()
    assert canonical == [(report_id(newer),)]
    assert _w4(tmp_path) == [(*before[0][:7], run1), *sorted([
        (f"{AGENCY}/2023", report_id(first), "PASS",
         f"all {shared} shared cells agree with the canonical report", None, None, [],
         result.run_id),
        (f"{AGENCY}/2023", report_id(disagrees), "FAIL",
         f"1 of {shared} shared cells differ from the canonical report", 6, 9,
         ["requests/new/total"], result.run_id)], key=lambda row: row[1])]
    # This run's W4 findings are the re-checked scope's alone.
    history = connect(tmp_path).execute(
        "SELECT DISTINCT scope FROM quality_history WHERE rule = 'W4' AND run_id = ?",
        [result.run_id]).fetchall()
    assert history == [(f"{AGENCY}/2023",)]


def test_w4_new_copy_that_stays_non_canonical_rechecks_the_other_copies(tmp_path: Path) -> None:
    canonical, earlier = _copy(2023, "c"), _copy(2023, "d", total=9)
    load_reports(Warehouse(tmp_path), [canonical, earlier])
    later = _copy(2023, "f", total=4)
    result = load_reports(Warehouse(tmp_path), [later])
    shared = len(all_keys(TEMPLATES))
    assert _w4(tmp_path) == sorted([
        (f"{AGENCY}/2023", report_id(copy), "FAIL",
         f"1 of {shared} shared cells differ from the canonical report", 6, value,
         ["requests/new/total"], result.run_id)
        for copy, value in ((earlier, 9), (later, 4))], key=lambda row: row[1])


def test_changed_scopes_old_and_new_identity_of_moved_reports() -> None:
    published = pa.table({
        "canonical": [True, False, True, True, None],
        "agency_id": ["A", "A", None, "C", None],
        "agency_key": ["ka", "ka", "kb", "kc", "kd"],
        "year": pa.array([2023, 2023, 2022, 2021, None], pa.int64())})
    now = pa.table({
        "canonical": [False, False, True, True, None, True],   # row 0 loses the flag
        "agency_id": ["A", "A", "B", "C", None, None],          # row 2 recognised as B
        "agency_key": ["ka", "ka", "kb", "kc", "kd", "ke"],
        "year": pa.array([2023, 2023, 2022, 2021, None, 2024], pa.int64())})
    assert changed_scopes(published, now) == {("A", 2023), ("kb", 2022), ("B", 2022),
                                              ("ke", 2024)}
    assert changed_scopes(published, now.slice(0, 5).set_column(
        0, "canonical", published["canonical"]).set_column(
        1, "agency_id", published["agency_id"])) == set()


def test_w4_without_members_checks_every_scope_of_the_agencies(tmp_path: Path) -> None:
    copies = [_copy(2022, "a"), _copy(2022, "b", total=7), _copy(2023, "c"), _copy(2023, "d")]
    load_reports(Warehouse(tmp_path), copies)
    shared = len(all_keys(TEMPLATES))
    with Warehouse(tmp_path).transaction("20990101T000000.000000Z-check") as tx:
        found = [(f.scope, f.report_id, f.result.status.value, f.result.message,
                  f.result.expected, f.result.observed, f.result.cells)
                 for f in cross_report_findings(tx, {AGENCY}, {"p": [AGENCY]})
                 if f.result.rule == "W4"]
    assert found == [
        (f"{AGENCY}/2022", report_id(copies[1]), "FAIL",
         f"1 of {shared} shared cells differ from the canonical report", 6, 7,
         ["requests/new/total"]),
        (f"{AGENCY}/2023", min(report_id(c) for c in copies[2:]), "PASS",
         f"all {shared} shared cells agree with the canonical report", None, None, [])]


def test_pairs_readable_non_canonical_copies_with_their_canonical() -> None:
    members = pa.table({
        "report_id": ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"],
        "agency_id": [None, None, None, None, "B", "B", "C", None],
        "agency_key": ["ka", "ka", "ka", "ka", "kb", "kb", "kc", "kd"],
        "year": pa.array([2023, 2023, 2023, 2023, 2022, 2022, 2022, None], pa.int64()),
        "canonical": [False, True, False, None, False, False, False, False],
        "status": ["ok", "ok", "unreadable", "ok", "quality_failures", "ok", "ok", "ok"]})
    # r3 unreadable, r4 unflagged, B/2022 and C/2022 without a canonical report, r8 no year.
    assert pairs(members) == [("r1", "r2", "ka", 2023)]
    members = members.set_column(4, "canonical", pa.array(
        [False, True, False, None, False, True, False, False]))
    assert pairs(members) == [("r5", "r6", "B", 2022), ("r1", "r2", "ka", 2023)]


def test_w4_pair_made_by_a_registry_change_is_checked(tmp_path: Path) -> None:
    """Two titles of one body, apart under the rules alone (洪泽县 unknown), one agency under
    the shipped registry: the next load, whatever it adds, compares them."""
    county = report("洪泽县人民政府", 2015, sha="a" * 64, new=1)
    district = report("淮安市洪泽区人民政府", 2015, sha="b" * 64, new=1)
    district.cells["requests/new/total"].value = 9
    district.checks = run_checks(district)
    load_reports(Warehouse(tmp_path), [county, district], agency_registry=Registry())
    assert _w4(tmp_path) == []
    result = load_reports(Warehouse(tmp_path), [report("甲县人民政府", 2023)])
    assert _w4(tmp_path) == [
        ("320813-gov/2015", report_id(district), "FAIL",
         f"1 of {len(all_keys(TEMPLATES))} shared cells differ from the canonical report", 6, 9,
         ["requests/new/total"], result.run_id)]


def test_cells_files_carry_a_bloom_filter_of_report_id(tmp_path: Path) -> None:
    """W4 reads the cells of a few reports: report ids are hashes, so only a Bloom filter per
    row group (written by every load) lets DuckDB skip the row groups without them."""
    load_reports(Warehouse(tmp_path), [_copy(2023, "a"), _copy(2024, "b")])
    files = [path for path, _ in Warehouse(tmp_path).files("cells")]
    assert files
    listing = ", ".join(f"'{path}'" for path in files)
    found = connect(tmp_path).execute(
        f"SELECT path_in_schema, bool_and(coalesce(bloom_filter_length, 0) > 0) "
        f"FROM parquet_metadata([{listing}]) WHERE path_in_schema IN ('report_id', 'row') "
        "GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert found == [("report_id", True), ("row", False)]
