"""The wide tables are Delta tables written at load: equal to the views over ``cells`` they
replace, rewritten only in the partitions a load changed, in step with corrections, rebuilds
and registry changes, and published (or not) with the rest of a load."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

from extract import extract_document
from tests.test_crosschecks import report
from warehouse import crosschecks, data_files, wide
from warehouse import removed as removed_module
from warehouse.agencies import AgencyResolver, Registry
from warehouse.agencies_load import agency_rows
from warehouse.load import DocumentMeta, load_reports, report_id
from warehouse.store import Warehouse
from warehouse.transaction import Transaction
from warehouse.verify import repair
from warehouse.views import REPORT_COLUMNS, connect, wide_view_sql
from warehouse.wide import WIDE_TABLES, bucket_of

DATA = Path(__file__).parent / "data"


def old_and_new(data_dir: Path, view: str) -> tuple[list[tuple], list[tuple]]:
    """The rows of the view over ``cells`` the wide table replaced, and the same columns of the
    materialized table, both ordered by report."""
    con = connect(data_dir)
    con.execute(wide_view_sql(f"old_{view}", WIDE_TABLES[view]))
    columns = [c for c in con.execute(f"SELECT * FROM old_{view} LIMIT 0").description]
    names = ", ".join(f'"{c[0]}"' for c in columns)
    old = con.execute(f"SELECT {names} FROM old_{view} ORDER BY report_id").fetchall()
    new = con.execute(f"SELECT {names} FROM {view} ORDER BY report_id").fetchall()
    return old, new


def wide_values(data_dir: Path, sql: str) -> list[tuple]:
    return connect(data_dir).execute(sql).fetchall()


def test_materialized_tables_equal_the_views_over_cells(tmp_path: Path, corpus_reports) -> None:
    """Three loads that move the canonical report (a second copy, then a third that wins):
    after each, every wide table holds what the view over cells computes."""
    docx, pdf = corpus_reports["weihai_2020.docx"], corpus_reports["weihai_2020.pdf"]
    load_reports(Warehouse(tmp_path), [docx, corpus_reports["shanghai_gov_office_2019.html"]],
                 {docx.sha256: DocumentMeta(publish_date="2021-01-20")})
    load_reports(Warehouse(tmp_path), [pdf, corpus_reports["hongze_district_2023.pdf"],
                                       corpus_reports["huaian_city_2024.pdf"]],
                 {pdf.sha256: DocumentMeta(publish_date="2021-01-25")})
    repost = extract_document(DATA / "weihai_2020.txt")
    repost.sha256 = "f" * 64
    repost.cells["requests/new/natural_person"].value = 6
    load_reports(Warehouse(tmp_path), [repost], {repost.sha256: DocumentMeta(
        publish_date="2021-03-01")})
    for view in WIDE_TABLES:
        assert DeltaTable.is_deltatable(str(Warehouse(tmp_path).path(view)))
        old, new = old_and_new(tmp_path, view)
        assert len(old) == 4 and new == old, view
    assert wide_values(tmp_path, "SELECT report_id, new__natural_person, level, kind FROM "
                                 "requests_wide WHERE year = 2020") == [
        (report_id(repost), 6.0, "prefecture", "zone_committee")]
    shanghai = wide_values(tmp_path, "SELECT new__research FROM requests_wide WHERE year = 2019")
    assert shanghai == [(None,)]  # blank stays null, never 0
    columns = [c[0] for c in connect(tmp_path).execute(
        "SELECT * FROM requests_wide LIMIT 0").description]
    assert columns[:len(REPORT_COLUMNS)] == list(REPORT_COLUMNS)


def delta_actions(table: Path, version: int) -> tuple[list[str], list[str]]:
    """(added, removed) file paths of one commit, read from the Delta log itself."""
    added, removed = [], []
    log = table / "_delta_log" / f"{version:020d}.json"
    for line in log.read_text(encoding="utf-8").splitlines():
        action = json.loads(line)
        if "add" in action:
            added.append(action["add"]["path"])
        if "remove" in action:
            removed.append(action["remove"]["path"])
    return added, removed


def files(table: Path, version: int) -> set[str]:
    actions = DeltaTable(table, version=version).get_add_actions(flatten=True)
    return set(actions.column("path").to_pylist())


def removed_rows(warehouse: Warehouse) -> dict[str, list[tuple[str, str]]]:
    """(file, report_id) of each row ``wide_removed`` records, by wide table."""
    out: dict[str, list[tuple[str, str]]] = {view: [] for view in WIDE_TABLES}
    for row in warehouse.read("wide_removed").to_pylist():
        out[row["table"]].append((row["path"], row["report_id"]))
    return out


def test_a_load_writes_only_the_changed_agencys_partition(tmp_path: Path,
                                                          corpus_reports) -> None:
    """A repost of one agency's report: each wide table's commit adds a file to that agency's
    partition and removes none (the old row is recorded in ``wide_removed``, naming its file,
    and no view shows it); ``cells`` only gains files."""
    warehouse = Warehouse(tmp_path)
    load_reports(warehouse, list(corpus_reports.values()))
    before = warehouse.published()
    old = report_id(corpus_reports["huaian_city_2024.pdf"])
    repost = extract_document(DATA / "huaian_city_2024.pdf")
    repost.sha256 = "a" * 64  # the same report again, published later: it becomes canonical
    load_reports(warehouse, [repost], {repost.sha256: DocumentMeta(publish_date="2030-01-01")})
    after = warehouse.published()
    agencies = dict(connect(tmp_path).execute(
        "SELECT report_id, coalesce(agency_id, agency_key) FROM reports").fetchall())
    bucket = f"agency_bucket={bucket_of(agencies[report_id(repost)])}/"
    assert len({bucket_of(a) for a in agencies.values()}) > 2  # other partitions exist
    gone = removed_rows(warehouse)
    for view in WIDE_TABLES:
        assert after[view] == before[view] + 1  # one commit
        added, removed = delta_actions(warehouse.path(view), after[view])
        assert added and not removed
        assert all(path.startswith(bucket) for path in added), (view, added)
        assert files(warehouse.path(view), before[view]) <= files(warehouse.path(view),
                                                                 after[view])
        [(path, rid)] = gone[view]
        assert rid == old and path.startswith(bucket), (view, gone[view])
        assert old in pq.read_table(warehouse.path(view) / path)["report_id"].to_pylist()
    added, removed = delta_actions(warehouse.path("cells"), after["cells"])
    assert added and not removed
    assert wide_values(tmp_path, "SELECT report_id FROM requests_wide WHERE year = 2024") == [
        (report_id(repost),)]
    assert wide_values(tmp_path, "SELECT report_id FROM requests_of('320800-gov')") == [
        (report_id(repost),)]  # (the partition named: the removed row left out there too)


def test_a_nightly_load_rewrites_only_the_files_of_the_rows_it_changes(
        tmp_path: Path, corpus_reports, monkeypatch) -> None:
    """With one row per file, a load that adds a new agency's report and a repost that takes
    the canonical flag from one report rewrites, in ``reports``, only the file holding that
    report's row, and in each wide table no file: it records that row as removed from its
    file. The files of every other report stay as they were."""
    monkeypatch.setattr(data_files, "FILE_ROWS", 1)
    monkeypatch.setattr(wide, "FILE_ROWS", 1)
    warehouse = Warehouse(tmp_path)
    first = [r for name, r in corpus_reports.items() if name != "hongze_district_2023.pdf"]
    # a body in 淮安市人民政府's partition (a name not recognised: its key is its agency)
    neighbour = next(name for name in (f"测试{n}县人民政府" for n in range(1000))
                     if bucket_of(name) == bucket_of("320800-gov"))
    load_reports(warehouse, [*first, report(neighbour, 2024)])
    before = warehouse.published()
    old = report_id(corpus_reports["huaian_city_2024.pdf"])
    repost = extract_document(DATA / "huaian_city_2024.pdf")
    repost.sha256 = "a" * 64  # published later: it becomes canonical
    opened = []  # wide files opened to look for the rows that go
    read_table = pq.read_table
    monkeypatch.setattr(wide.pq, "read_table", lambda path, **kw: opened.append(path) or
                        read_table(path, **kw))
    load_reports(warehouse, [repost, corpus_reports["hongze_district_2023.pdf"]],
                 {repost.sha256: DocumentMeta(publish_date="2030-01-01")})
    after = warehouse.published()
    # only the file whose recorded agency range holds the old report's agency, in each table
    # (not its neighbour's, in the same partition)
    assert len(opened) == len(WIDE_TABLES), opened
    gone = removed_rows(warehouse)
    for table in ("reports", *WIDE_TABLES):
        path = warehouse.path(table)
        added, removed = delta_actions(path, after[table])
        if table == "reports":
            assert len(removed) == 1, removed
            assert pq.read_table(path / removed[0], columns=["report_id"])[
                "report_id"].to_pylist() == [old]
        else:
            [(file, rid)] = gone[table]
            assert not removed and rid == old and file in files(path, after[table]), table
            assert pq.read_table(path / file, columns=["report_id"])[
                "report_id"].to_pylist() == [old], table
        assert files(path, before[table]) - set(removed) <= files(path, after[table]), table
        expected = 3 if table == "reports" else 2  # (the old row, flag moved) and the new rows
        assert len(added) == expected, (table, added)
    for view in WIDE_TABLES:
        old_rows, new_rows = old_and_new(tmp_path, view)
        assert new_rows == old_rows and len(new_rows) == 5  # (weihai 2020: two copies)
    # agencies: only the row of the body a new name was given (洪泽区人民政府, a registry
    # entry) is rewritten; the same rows as a full build gives
    added, removed = delta_actions(warehouse.path("agencies"), after["agencies"])
    hongze = wide_values(tmp_path, "SELECT agency_id FROM reports WHERE year = 2023")
    assert len(removed) == 1 and len(added) == 1 and len(hongze) == 1
    assert pq.read_table(warehouse.path("agencies") / removed[0])["agency_id"].to_pylist() == [
        hongze[0][0]]
    full = agency_rows(warehouse.read("reports"), AgencyResolver())
    assert warehouse.read("agencies").sort_by("agency_id").to_pylist() == full.to_pylist()


def test_a_partition_past_the_limit_of_removed_rows_is_rewritten_without_them(
        tmp_path: Path, corpus_reports, monkeypatch) -> None:
    """With ``removed.LIMIT`` 0, the repost's load rewrites the file holding the row that goes,
    without it, and ``wide_removed`` is left empty; the views are the same either way."""
    monkeypatch.setattr(removed_module, "LIMIT", 0)
    warehouse = Warehouse(tmp_path)
    load_reports(warehouse, list(corpus_reports.values()))
    before = warehouse.published()
    old = report_id(corpus_reports["huaian_city_2024.pdf"])
    repost = extract_document(DATA / "huaian_city_2024.pdf")
    repost.sha256 = "a" * 64
    load_reports(warehouse, [repost], {repost.sha256: DocumentMeta(publish_date="2030-01-01")})
    after = warehouse.published()
    assert removed_rows(warehouse) == {view: [] for view in WIDE_TABLES}
    for view in WIDE_TABLES:
        added, removed = delta_actions(warehouse.path(view), after[view])
        assert len(removed) == 1 and old in pq.read_table(
            warehouse.path(view) / removed[0])["report_id"].to_pylist(), view
        assert all(old not in pq.read_table(warehouse.path(view) / path)["report_id"].to_pylist()
                   for path in files(warehouse.path(view), after[view]))
        assert files(warehouse.path(view), before[view]) - set(removed) <= files(
            warehouse.path(view), after[view])
        old_rows, new_rows = old_and_new(tmp_path, view)
        assert new_rows == old_rows


def test_wide_tables_follow_a_correction_a_rebuild_and_a_registry_change(
        tmp_path: Path, corpus_reports, hongze_correction: Path) -> None:
    registry = hongze_correction
    hongze = corpus_reports["hongze_district_2023.pdf"]
    load_reports(Warehouse(tmp_path), [hongze], corrections_path=registry)
    sql = "SELECT report_id, reconsideration__total FROM appeals_wide"
    assert wide_values(tmp_path, sql) == [(report_id(hongze), 11.0)]
    # a rebuild: the same document read by a newer extractor version is a new report
    again = extract_document(DATA / "hongze_district_2023.pdf")
    again.extractor_version += "+next"
    load_reports(Warehouse(tmp_path), [again], corrections=[])
    assert wide_values(tmp_path, sql) == [(report_id(again), 0.0)]  # as printed, uncorrected
    # a registry change: a body unknown when loaded is identified by a later load
    load_reports(Warehouse(tmp_path), [report("洪泽县人民政府", 2015, carried_forward=3)],
                 agency_registry=Registry())
    by_year = "SELECT agency_id, level FROM requests_wide WHERE year = 2015"
    assert wide_values(tmp_path, by_year) == [(None, None)]
    load_reports(Warehouse(tmp_path), [])
    assert wide_values(tmp_path, by_year) == [("320813-gov", "county")]
    for view in WIDE_TABLES:
        old, new = old_and_new(tmp_path, view)
        assert new == old and len(new) == 2


def test_repair_republishes_the_wide_tables_with_the_rest(tmp_path: Path, corpus_reports) -> None:
    warehouse = Warehouse(tmp_path)
    load_reports(warehouse, [corpus_reports["weihai_2020.docx"]])
    load_reports(warehouse, [corpus_reports["huaian_city_2024.pdf"]])
    published = warehouse.published()
    warehouse.pointer.unlink()
    assert repair(warehouse) == published
    assert wide_values(tmp_path, "SELECT count(*) FROM requests_wide") == [(2,)]


def test_one_agencys_history_reads_only_its_partition(tmp_path: Path) -> None:
    """``requests_of(agency)`` gives every year of one body, under both its titles, and DuckDB
    reads only the files of its partition (its EXPLAIN ANALYZE counts them)."""
    reports = [report("洪泽区人民政府", 2023, new=2), report("淮安市洪泽区人民政府", 2024, new=3),
               *(report(f"淮安市{name}", 2024) for name in ("教育局", "民政局", "财政局",
                                                           "公安局", "卫生健康委员会"))]
    load_reports(Warehouse(tmp_path), reports)
    con = connect(tmp_path)
    assert con.execute("SELECT bucket_of('320813-gov')").fetchone()[0] == bucket_of("320813-gov")
    expected = con.execute("SELECT report_id, agency, year, new__natural_person FROM "
                           "requests_wide WHERE agency_id = '320813-gov' ORDER BY year").fetchall()
    assert [row[1:] for row in expected] == [("洪泽区人民政府", 2023, 2.0),
                                             ("淮安市洪泽区人民政府", 2024, 3.0)]
    assert con.execute("SELECT report_id, agency, year, new__natural_person "
                       "FROM requests_of('320813-gov')").fetchall() == expected
    assert files_read(con, tmp_path) == 1
    # Reposts, here and in another partition: their old rows are removed from their files,
    # read apart (anti-joined with the removed rows); still only the partition's files are read.
    reposts = [report("淮安市洪泽区人民政府", 2024, new=4), report("淮安市教育局", 2024, new=5)]
    for n, repost in enumerate(reposts):
        repost.sha256 = f"{n}" * 64
    assert bucket_of("320800-dept-教育局") != bucket_of("320813-gov")
    load_reports(Warehouse(tmp_path), reposts, {r.sha256: DocumentMeta(
        publish_date="2030-01-01") for r in reposts})
    assert len(Warehouse(tmp_path).read("wide_removed")) == 2 * len(WIDE_TABLES)
    con = connect(tmp_path)
    assert con.execute("SELECT agency, year, new__natural_person FROM requests_of('320813-gov')"
                       ).fetchall() == [("洪泽区人民政府", 2023, 2.0),
                                        ("淮安市洪泽区人民政府", 2024, 4.0)]
    assert files_read(con, tmp_path) == 2


def files_read(con, data_dir: Path) -> int:
    """The files DuckDB reads for ``requests_of('320813-gov')`` (its EXPLAIN ANALYZE counts,
    over each scan), checked to be all the files of its partition and fewer than the table's."""
    plan = con.execute("EXPLAIN ANALYZE SELECT * FROM requests_of('320813-gov')").fetchall()[0][1]
    read = sum(int(n) for n in re.findall(r"Total Files Read: (\d+)", plan))
    scanning = [(int(a), int(b)) for a, b in re.findall(r"Scanning Files: (\d+)/(\d+)", plan)]
    partition = (Warehouse(data_dir).path("requests_wide")
                 / f"agency_bucket={bucket_of('320813-gov')}")
    own = len(list(partition.glob("*.parquet")))
    assert own and read == sum(a for a, _ in scanning) == own  # DuckDB's count of files read
    assert sum(b for _, b in scanning) > own  # of the table's files, in other partitions too
    return own


@pytest.mark.parametrize("partition", ["bucket", "agency_bucket"])
def test_wide_tables_of_an_earlier_layout_are_computed_then_rebuilt(
        tmp_path: Path, partition: str) -> None:
    """Wide tables written under an earlier layout (partitioned by ``bucket``, a hash of the
    name; or without a column added since) are read as the view over ``cells`` until the next
    load, which rebuilds them under ``agency_bucket``."""
    warehouse = Warehouse(tmp_path)
    load_reports(warehouse, [report("洪泽区人民政府", 2023, new=2)])
    pointer = warehouse.root / "_published.json"
    published = json.loads(pointer.read_text())
    for view in WIDE_TABLES:
        table = DeltaTable(warehouse.path(view)).to_pyarrow_table()
        earlier = table.drop_columns(["agency_of"]).rename_columns(
            [{"agency_bucket": partition}.get(n, n) for n in table.column_names
             if n != "agency_of"])
        write_deltalake(warehouse.path(view), earlier, mode="overwrite",
                        partition_by=[partition], schema_mode="overwrite")
        published["tables"][view] = DeltaTable(warehouse.path(view)).version()
    pointer.write_text(json.dumps(published))
    assert wide_values(tmp_path, "SELECT agency, new__natural_person FROM requests_wide") == [
        ("洪泽区人民政府", 2.0)]
    assert wide_values(tmp_path, "SELECT year FROM requests_of('320813-gov')") == [(2023,)]
    load_reports(warehouse, [report("淮安市洪泽区人民政府", 2024, new=3)])
    for view in WIDE_TABLES:
        current = files(warehouse.path(view), warehouse.published()[view])
        assert current and all(p.startswith("agency_bucket=") for p in current), view
    assert wide_values(tmp_path, "SELECT year, new__natural_person "
                                 "FROM requests_of('320813-gov')") == [(2023, 2.0), (2024, 3.0)]


def test_files_holding_an_agency_are_told_by_their_recorded_ranges(tmp_path: Path,
                                                                    monkeypatch) -> None:
    """With one row per file, the files that may hold an agency's rows are exactly the files
    of its rows (what W1 and the rewrite of a load open), in each wide table."""
    monkeypatch.setattr(data_files, "FILE_ROWS", 1)
    bodies = ["淮安市人民政府", "洪泽区人民政府", "淮安市教育局", "淮安市民政局"]
    load_reports(Warehouse(tmp_path), [report(b, y) for b in bodies for y in (2022, 2023)])
    tx = Transaction(Warehouse(tmp_path))
    for view in WIDE_TABLES:
        holding = wide.files_holding(tx, view, {"320813-gov"})
        years = sorted(pq.read_table(path, columns=["agency_of", "year"]).to_pylist()[0]["year"]
                       for path in holding)
        assert years == [2022, 2023], (view, holding)
        assert all(pq.read_table(path)["agency_of"].to_pylist() == ["320813-gov"]
                   for path in holding)


def test_a_row_is_removed_from_its_file_not_from_every_file(tmp_path: Path) -> None:
    """A report whose row is removed from one file and live in another (it went and came
    back) is read once, from the other; a file with nothing removed is read as it is."""
    old, new = tmp_path / "old.parquet", tmp_path / "new.parquet"
    pq.write_table(pa.table({"report_id": ["x", "y"], "value": [1, 2]}), old)
    pq.write_table(pa.table({"report_id": ["x"], "value": [3]}), new)
    con = duckdb.connect()
    live = removed_module.live_sql(con, "requests_wide", [str(old), str(new)],
                                   {str(old): {"x"}}, "hive_partitioning = false")
    assert sorted(con.execute(live).fetchall()) == [("x", 3), ("y", 2)]
    assert sorted(con.execute(removed_module.live_sql(
        con, "requests_wide", [str(old), str(new)], {}, "hive_partitioning = false")
    ).fetchall()) == [("x", 1), ("x", 3), ("y", 2)]


def test_w1_from_the_published_files_and_the_added_rows_is_w1_of_the_table_written(
        tmp_path: Path, monkeypatch) -> None:
    """A nightly load's W1 reads the published files of ``requests_wide`` without the rows
    it dropped, and the rows it added from memory: the same findings as reading the table as
    the load wrote it (a repost with other numbers, a new year, an agency seen first)."""
    original, compared = crosschecks.continuity, []

    def both(con, tx, agencies, change=None):
        found = original(con, tx, agencies, change)
        if change is not None:
            compared.append(([(f.scope, f.report_id, f.result.to_dict()) for f in found],
                             [(f.scope, f.report_id, f.result.to_dict())
                              for f in original(con, tx, agencies)]))
        return found

    monkeypatch.setattr(crosschecks, "continuity", both)
    load_reports(Warehouse(tmp_path), [report("甲县人民政府", 2022, carried_forward=4),
                                       report("甲县人民政府", 2023, carried_over=4,
                                              carried_forward=5)])
    repost = report("甲县人民政府", 2023, carried_over=3, carried_forward=5, sha="c" * 64)
    load_reports(Warehouse(tmp_path), [repost, report("甲县人民政府", 2024, carried_over=5),
                                       report("乙县人民政府", 2024)],
                 {repost.sha256: DocumentMeta(publish_date="2030-01-01")})
    [(from_change, from_table)] = compared
    statuses = {(scope.rsplit("/", 1)[1], result["status"]) for scope, _, result in from_change}
    assert statuses == {("2023", "FAIL"), ("2024", "PASS")}  # the repost's 3 ≠ 4 carried
    assert from_change == from_table
