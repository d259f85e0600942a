"""The warehouse: idempotent, atomic loads; canonical choice; corrections; views; export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from deltalake import DeltaTable

from extract import extract_document
from extract.model import Status
from warehouse.corrections import CorrectionError, load_corrections
from warehouse.export import export
from warehouse.load import DocumentMeta, load_reports, report_id
from warehouse.store import Warehouse, WarehouseLocked
from warehouse.views import WIDE_TABLES, connect

DATA = Path(__file__).parent / "data"


def counts(data_dir: Path) -> dict[str, int]:
    con = connect(data_dir)
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("documents", "reports", "cells", "quality", "runs")}


def test_loading_twice_leaves_one_copy(tmp_path: Path, corpus_reports) -> None:
    reports = list(corpus_reports.values())
    first = load_reports(Warehouse(tmp_path), reports)
    after_first = counts(tmp_path)
    second = load_reports(Warehouse(tmp_path), reports)
    after_second = counts(tmp_path)
    assert first.reports_loaded == 5 and second.reports_loaded == 0
    assert second.reports_unchanged == 5 and second.cells_loaded == 0
    assert after_first["cells"] == after_second["cells"] == sum(
        len(r.cells) for r in reports)
    assert after_first["reports"] == after_second["reports"] == 5
    assert after_second["runs"] == 2  # each run is recorded


def test_canonical_prefers_passing_then_more_cells_then_newer(tmp_path: Path,
                                                              corpus_reports) -> None:
    """The weihai DOCX and PDF carry the same report; a later repost prints one number wrong."""
    docx, pdf = corpus_reports["weihai_2020.docx"], corpus_reports["weihai_2020.pdf"]
    metas = {docx.sha256: DocumentMeta(publish_date="2021-01-20"),
             pdf.sha256: DocumentMeta(publish_date="2021-01-25")}
    load_reports(Warehouse(tmp_path), [docx, pdf], metas)
    con = connect(tmp_path)
    canonical = con.execute("SELECT report_id FROM reports WHERE canonical").fetchall()
    assert canonical == [(report_id(pdf),)]  # equal checks and cells: the newer publication
    w4 = con.execute("SELECT status FROM quality WHERE rule = 'W4'").fetchall()
    assert w4 == [("PASS",)]

    wrong = extract_document(DATA / "weihai_2020.txt")  # a third copy; then break one number
    wrong.sha256 = "f" * 64
    wrong.cells["requests/new/natural_person"].value = 6
    # its checks are those of the text as extracted: none fails, so nothing but the date decides
    assert wrong.checks and all(c.status is not Status.FAIL for c in wrong.checks)
    load_reports(Warehouse(tmp_path), [wrong], {wrong.sha256: DocumentMeta(
        publish_date="2021-03-01")})
    con = connect(tmp_path)
    assert con.execute("SELECT report_id FROM reports WHERE canonical").fetchall() == \
        [(report_id(wrong),)]  # newest; the old versions stay, flagged non-canonical
    assert con.execute("SELECT count(*) FROM reports WHERE agency_key = '威海经济技术开发区'"
                       ).fetchone()[0] == 3
    conflicts = con.execute("SELECT status, cells, expected, observed FROM quality "
                            "WHERE rule = 'W4' ORDER BY report_id").fetchall()
    assert [c[0] for c in conflicts] == ["FAIL", "FAIL"]
    assert all(c[1] == ["requests/new/natural_person"] and (c[2], c[3]) == (6, 5)
               for c in conflicts)


def test_failing_report_loses_canonical_to_passing_one(tmp_path: Path, corpus_reports) -> None:
    good = corpus_reports["weihai_2020.docx"]
    bad = extract_document(DATA / "weihai_2020.pdf")
    bad.sha256 = "e" * 64
    bad.checks[0].status = bad.checks[0].status.FAIL
    load_reports(Warehouse(tmp_path), [good, bad], {bad.sha256: DocumentMeta(
        publish_date="2030-01-01")})
    canonical = connect(tmp_path).execute("SELECT report_id FROM reports WHERE canonical"
                                          ).fetchall()
    assert canonical == [(report_id(good),)]


def test_every_view_answers(tmp_path: Path, corpus_reports) -> None:
    load_reports(Warehouse(tmp_path), list(corpus_reports.values()), documents=[{
        "portal_id": "p", "url": "http://x/a.pdf", "final_url": "http://x/a.pdf",
        "page_url": None, "title": "t", "publish_date": "2024-01-02", "publisher": None,
        "index_number": None, "content_type": "application/pdf", "size": 3,
        "sha256": corpus_reports["huaian_city_2024.pdf"].sha256,
        "fetched_at": "2025-01-02T00:00:00+00:00", "http_status": 200, "kind": "attachment",
        "agency": "淮安市人民政府", "year": 2024, "attachment_name": "a.pdf", "variant": None,
        "new": True}])
    con = connect(tmp_path)
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM quality WHERE rule = 'R4' AND status = 'FAIL'"
                       ).fetchone()[0] == 2  # 洪泽 2023 prints its own R4 failure twice
    huaian = con.execute("SELECT new__total, carried_forward__total FROM requests_wide "
                         "WHERE agency = '淮安市人民政府'").fetchone()
    assert huaian == (3119, 103)
    assert con.execute("SELECT penalty__decisions FROM disclosure_wide WHERE year = 2024 AND "
                       "agency = '淮安市人民政府'").fetchone() == (3985758,)
    assert con.execute("SELECT reconsideration__total FROM appeals_wide WHERE year = 2023"
                       ).fetchone() == (0,)  # as printed, though its parts sum to 11
    shanghai = con.execute("SELECT new__research FROM requests_wide WHERE year = 2019").fetchone()
    assert shanghai == (None,)  # blank stays null in the wide view too
    for view in WIDE_TABLES:
        assert con.execute(f"SELECT count(*) FROM {view}").fetchone()[0] == 4  # canonical only


def test_corrections_are_applied_and_visible(tmp_path: Path, corpus_reports,
                                            hongze_correction: Path) -> None:
    registry = hongze_correction
    load_reports(Warehouse(tmp_path), [corpus_reports["hongze_district_2023.pdf"]],
                 corrections_path=registry)
    row = connect(tmp_path).execute(
        "SELECT value, original_value, corrected, raw FROM cells WHERE \"table\" = 'appeals' "
        "AND \"row\" = 'reconsideration' AND col = 'total'").fetchone()
    assert row == (11.0, 0.0, True, "0")


def test_a_correction_naming_an_unknown_cell_is_refused(tmp_path: Path) -> None:
    registry = tmp_path / "corrections.yaml"
    registry.write_text("- {agency: a, year: 2023, cell: requests/nope/total, value: 1, "
                        "who: me, why: test, source: none}\n", encoding="utf-8")
    with pytest.raises(CorrectionError, match="requests/nope/total"):
        load_corrections(registry)


def test_the_shipped_registry_loads() -> None:
    assert isinstance(load_corrections(), list)


def test_export_round_trips(tmp_path: Path, corpus_reports) -> None:
    data_dir, out = tmp_path / "data", tmp_path / "export"
    load_reports(Warehouse(data_dir), list(corpus_reports.values()))
    written = export(data_dir, out)
    con = connect(data_dir)
    expected = con.execute("SELECT c.report_id, c.\"table\", c.\"row\", c.col, c.value, c.year "
                           "FROM cells c JOIN reports r USING (report_id) WHERE r.canonical "
                           "ORDER BY ALL").fetchall()
    back = duckdb.sql(f"SELECT report_id, \"table\", \"row\", col, value, year FROM "
                      f"read_parquet('{out}/cells/*/*.parquet', hive_partitioning = true) "
                      f"ORDER BY ALL").fetchall()
    assert back == expected and written["cells"] == len(expected)
    assert duckdb.sql(f"SELECT count(*) FROM '{out}/reports.parquet'").fetchall() == [(4,)]
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    assert {r["name"] for r in package["resources"]} == {
        "documents", "reports", "cells", "quality", "runs", "agencies", *WIDE_TABLES}
    assert written["requests_wide"] == 4 and duckdb.sql(
        f"SELECT new__total FROM '{out}/requests_wide.parquet' WHERE agency = '淮安市人民政府'"
    ).fetchall() == [(3119,)]
    exported = {a for (a,) in duckdb.sql(f"SELECT agency_id FROM '{out}/agencies.parquet'"
                                         ).fetchall()}
    assert exported == {a for (a,) in con.execute("SELECT agency_id FROM agencies").fetchall()}
    assert {"310000-office", "320800-gov", "320813-gov", "371000-zone-经济技术开发区"} <= exported


def test_committed_data_dictionary_is_current() -> None:
    from warehouse.export import data_dictionary_markdown, datapackage

    docs = Path(__file__).parents[1] / "docs"
    assert (docs / "data-dictionary.md").read_text(encoding="utf-8") == data_dictionary_markdown()
    assert json.loads((docs / "datapackage.json").read_text(encoding="utf-8")) == datapackage()


def test_second_concurrent_load_is_refused(tmp_path: Path, corpus_reports) -> None:
    warehouse = Warehouse(tmp_path)
    with warehouse.transaction("first-run"):
        with pytest.raises(WarehouseLocked, match="first-run"):
            load_reports(Warehouse(tmp_path), list(corpus_reports.values()))


_LOADER = """
import sys
from pathlib import Path
from extract import extract_document
from warehouse.load import load_reports
from warehouse.store import Warehouse
reports = [extract_document(Path(p)) for p in sys.argv[3:]]
for n in range(40):  # many loads back to back: a kill lands inside one of them
    for r in reports:  # new documents each time (this process's salt, the load's number)
        r.sha256 = f"{sys.argv[2]}{n:03d}" + r.sha256[4:]
    load_reports(Warehouse(Path(sys.argv[1])), reports)
"""


def published_runs(data_dir: Path) -> int:
    """The published version of ``runs`` (-1 before any): it moves with every load."""
    pointer = Warehouse(data_dir).pointer
    try:
        return json.loads(pointer.read_text(encoding="utf-8"))["tables"].get("runs", -1)
    except (FileNotFoundError, ValueError, KeyError):
        return -1


@pytest.mark.slow
def test_sigkill_mid_load_leaves_old_or_new_state(tmp_path: Path) -> None:
    """Kill loaders at growing delays; after each kill the warehouse reads consistently (every
    report's cells present, every cell's report present, a wide row for each canonical report)
    and the next load succeeds."""
    script = tmp_path / "loader.py"
    script.write_text(_LOADER, encoding="utf-8")
    docs = [str(DATA / "weihai_2020.docx"), str(DATA / "shanghai_gov_office_2019.html")]
    cells_per_load = 198 + 198
    mid_load_kills = 0
    for salt, delay in enumerate((0.1, 0.25, 0.4, 0.55, 0.7, 0.85)):
        process = subprocess.Popen([sys.executable, str(script), str(tmp_path / "wh"), str(salt),
                                    *docs],
                                   cwd=Path(__file__).parents[1])
        published_first = published_runs(tmp_path / "wh")
        deadline = time.monotonic() + 120  # imports and extraction first (slow on a busy box)
        while published_runs(tmp_path / "wh") == published_first and process.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(delay)  # then into one of its next loads
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        warehouse = Warehouse(tmp_path / "wh")
        published = warehouse.published()
        if not published:
            continue
        mid_load_kills += any(DeltaTable(warehouse.path(t)).version() != v
                              for t, v in published.items())
        con = connect(tmp_path / "wh")
        n_reports = con.execute("SELECT count(*) FROM reports").fetchone()[0]
        n_cells = con.execute("SELECT count(*) FROM cells").fetchone()[0]
        orphans = con.execute("SELECT count(*) FROM cells WHERE report_id NOT IN "
                              "(SELECT report_id FROM reports)").fetchone()[0]
        assert orphans == 0 and n_cells == n_reports // 2 * cells_per_load
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == n_reports // 2
        for view in WIDE_TABLES:  # the wide tables: the same snapshot, old or new, never half
            assert con.execute(f"SELECT report_id FROM {view} ORDER BY 1").fetchall() == \
                con.execute("SELECT report_id FROM reports WHERE canonical ORDER BY 1").fetchall()
    assert mid_load_kills, "no kill landed inside a load; raise the loads per process"
    # the next load rolls the unpublished commits back and succeeds
    result = load_reports(Warehouse(tmp_path / "wh"), [extract_document(DATA / "weihai_2020.pdf")])
    assert result.reports_loaded == 1


def test_cells_carry_ocr_confidence_null_unless_read_by_ocr(tmp_path: Path) -> None:
    scanned = extract_document(DATA / "weihai_2020.docx")
    scanned.sha256 = "c" * 64
    scanned.cells["requests/new/total"].ocr_confidence = 87.5  # as an OCR reader records it
    load_reports(Warehouse(tmp_path), [scanned])
    con = connect(tmp_path)
    assert con.execute("SELECT ocr_confidence FROM cells WHERE \"table\" = 'requests' AND "
                       "\"row\" = 'new' AND col = 'total'").fetchall() == [(87.5,)]
    assert con.execute("SELECT count(*) FROM cells WHERE ocr_confidence IS NULL"
                       ).fetchone()[0] == len(scanned.cells) - 1
