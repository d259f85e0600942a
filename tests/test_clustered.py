"""A load reads only the ``reports`` files that can hold the agencies it changes: the table is
written sorted by ``agency_of`` with each file's min/max in its Delta add action, and the
warehouse a load leaves is the one a load reading every report would leave."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

from tests.test_crosschecks import report
from warehouse import agencies_load, data_files, load
from warehouse.clustered import read_holding
from warehouse.load import DocumentMeta, load_reports
from warehouse.store import Warehouse
from warehouse.views import connect
from warehouse.wide import WIDE_TABLES

# five recognised bodies (320813-gov, 320800-gov, departments of 320800) and one not
BODIES = ["洪泽区人民政府", "淮安市人民政府", "淮安市教育局", "淮安市民政局", "淮安市财政局",
          "甲县人民政府"]


def _nightly(tmp_path: Path) -> list:
    """Three loads: every body's 2022 and 2023; a 2024 for the first; then a second 2024 copy
    of it under its other title (a new alias, a duplicate for W4), a 2024 for the body not
    recognised, and a repost of one 2023 report that takes the canonical flag."""
    first = [report(b, y, new=n) for n, b in enumerate(BODIES) for y in (2022, 2023)]
    repost = report(BODIES[2], 2023, sha="e" * 64, new=9)
    return [(first, {}), ([report(BODIES[0], 2024, carried_over=0, new=3)], {}),
            ([report("淮安市洪泽区人民政府", 2024, new=4), report(BODIES[5], 2024), repost],
             {repost.sha256: DocumentMeta(publish_date="2030-01-01")})]


def _state(data_dir: Path) -> dict[str, list[tuple]]:
    con = connect(data_dir)
    out = {"agencies": con.execute(
        "SELECT agency_id, name, aliases FROM agencies ORDER BY agency_id").fetchall(),
           "reports": con.execute(
        "SELECT report_id, agency_id, agency_of, canonical FROM reports ORDER BY report_id"
    ).fetchall(), "quality": con.execute(
        "SELECT rule, scope, subject, status, report_id, message FROM quality "
        "ORDER BY ALL").fetchall()}
    for view in WIDE_TABLES:
        out[view] = con.execute(f"SELECT * FROM {view} ORDER BY report_id").fetchall()
    return out


def test_loads_reading_their_agencies_files_equal_loads_reading_every_report(
        tmp_path: Path, monkeypatch) -> None:
    """The same three loads, one warehouse reading only the files that can hold the loads'
    agencies, the other every report and agency (``read_holding`` off): the same agencies,
    reports, flags, wide rows and findings. With one row per file, the nightly loads read a
    few files only."""
    monkeypatch.setattr(data_files, "FILE_ROWS", 1)
    reads = []
    original = load.read_holding

    def counted(*args, **kwargs):
        got = original(*args, **kwargs)
        reads.append(len(got[1]) if got else None)
        return got

    monkeypatch.setattr(load, "read_holding", counted)
    for batch, metas in _nightly(tmp_path / "holding"):
        load_reports(Warehouse(tmp_path / "holding"), batch, metas)
    monkeypatch.setattr(load, "read_holding", lambda *args, **kwargs: None)
    monkeypatch.setattr(agencies_load, "read_holding", lambda *args, **kwargs: None)
    for batch, metas in _nightly(tmp_path / "whole"):
        load_reports(Warehouse(tmp_path / "whole"), batch, metas)
    assert _state(tmp_path / "holding") == _state(tmp_path / "whole")
    # (the first load reads nothing); then only the files of the loads' bodies, of the 12, 13
    # files: 洪泽区's two, then its three and the two of each other body
    assert reads == [2, 7]
    aliases = {row[0]: row[2] for row in _state(tmp_path / "holding")["agencies"]}
    assert {"洪泽区人民政府", "淮安市洪泽区人民政府"} <= set(aliases["320813-gov"])


def test_reports_files_record_their_agencies_and_are_chosen_by_them(tmp_path: Path,
                                                                    monkeypatch) -> None:
    """Each file's add action holds the exact min and max ``agency_of`` of its rows, and
    ``read_holding`` returns exactly the files whose range holds an asked agency."""
    monkeypatch.setattr(data_files, "FILE_ROWS", 2)
    warehouse = Warehouse(tmp_path)
    load_reports(warehouse, [report(b, y) for b in BODIES for y in (2022, 2023)])
    actions = pa.table(DeltaTable(warehouse.path("reports")).get_add_actions(flatten=True))
    for path, low, high in zip(actions["path"].to_pylist(), actions["min.agency_of"].to_pylist(),
                               actions["max.agency_of"].to_pylist(), strict=True):
        agencies = pq.read_table(warehouse.path("reports") / path)["agency_of"].to_pylist()
        assert (low, high) == (min(agencies), max(agencies))
    wanted = connect(tmp_path).execute(
        "SELECT any_value(agency_of) FROM reports WHERE agency = ?", [BODIES[3]]).fetchone()[0]
    data, files = read_holding(warehouse, "reports", {wanted})
    assert set(data["agency_of"].to_pylist()) == {wanted} and len(files) == 1


def agency_of_named(data_dir: Path, agency: str) -> str:
    return connect(data_dir).execute("SELECT any_value(agency_of) FROM reports WHERE agency = ?",
                                     [agency]).fetchone()[0]


def test_a_reports_table_written_before_agency_of_is_read_and_then_rewritten(
        tmp_path: Path, monkeypatch) -> None:
    """``reports`` without the column (written by an earlier version): the view shows it null,
    the next load writes every row with it."""
    warehouse = Warehouse(tmp_path)
    monkeypatch.setattr(data_files, "FILE_ROWS", 1)
    load_reports(warehouse, [report(BODIES[0], 2022), report(BODIES[1], 2022)])
    table = DeltaTable(warehouse.path("reports")).to_pyarrow_table().drop_columns(["agency_of"])
    write_deltalake(warehouse.path("reports"), table, mode="overwrite", schema_mode="overwrite")
    published = warehouse.published()
    warehouse.publish({**published, "reports": DeltaTable(warehouse.path("reports")).version()},
                      "test")
    assert connect(tmp_path).execute("SELECT count(*), count(agency_of) FROM reports"
                                     ).fetchone() == (2, 0)
    assert read_holding(warehouse, "reports", {"x"}) is None  # (no column: read whole)
    load_reports(warehouse, [report(BODIES[2], 2022)])
    assert connect(tmp_path).execute("SELECT count(*), count(agency_of) FROM reports"
                                     ).fetchone() == (3, 3)
    # written by the product's writer, with each file's statistics: the next load picks files
    rows, files = read_holding(warehouse, "reports", {agency_of_named(tmp_path, BODIES[1])})
    assert rows.num_rows == len(files) == 1
