"""`nianbao query` is read-only: the statements of a hostile user are refused before they run,
no file outside the warehouse can be read, and reads still answer with real values."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from extract import extract_document
from warehouse.load import load_reports
from warehouse.query import QueryFailed, QueryRefused, run_query
from warehouse.store import Warehouse

DATA = Path(__file__).parents[1] / "data"
REPO = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("readonly")
    load_reports(Warehouse(data_dir), [extract_document(DATA / "weihai_2020.docx"),
                                       extract_document(DATA / "shanghai_gov_office_2019.html")])
    return data_dir


def _fingerprint(root: Path) -> dict[str, str]:
    """Every file under ``root`` and the hash of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def nianbao(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO)


def test_copy_over_the_warehouse_files_is_refused_and_changes_nothing(loaded: Path) -> None:
    before = _fingerprint(loaded)
    target = next((loaded / "warehouse" / "reports").glob("*.parquet"))
    done = nianbao("query", "--data-dir", str(loaded),
                   f"COPY (SELECT * FROM reports LIMIT 0) TO '{target}' (FORMAT parquet)")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "query_refused: query is read-only; COPY statements are not allowed "
        "(use nianbao export to write files)"]
    assert _fingerprint(loaded) == before
    assert run_query(loaded, "SELECT count(*) FROM reports").rows == [(2,)]


@pytest.mark.parametrize("sql", [
    "ATTACH '{tmp}/other.duckdb' AS other",
    "CREATE TABLE notes AS SELECT 1 AS n",
    "CREATE OR REPLACE VIEW reports AS SELECT 1 AS n",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "PRAGMA profiling_output = '{tmp}/profile.txt'",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{tmp}/out.csv'",
    "-- looks like a comment\n/* and another */ EXPLAIN ANALYZE COPY (SELECT 1) TO '{tmp}/o.csv'",
    "SELECT 1; COPY (SELECT * FROM cells) TO '{tmp}/cells.csv'",
    "EXPORT DATABASE '{tmp}/dump'",
    "CALL pragma_version()",
    "DETACH memory",
])
def test_statements_that_are_not_reads_are_refused(loaded: Path, tmp_path: Path,
                                                   sql: str) -> None:
    before = _fingerprint(loaded)
    with pytest.raises(QueryRefused, match="read-only"):
        run_query(loaded, sql.format(tmp=tmp_path))
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere
    assert _fingerprint(loaded) == before


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_text('/etc/shadow')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('{outside}')",
    "SELECT * FROM read_text('{warehouse}/../outside.parquet')",
])
def test_no_file_outside_the_warehouse_can_be_read(loaded: Path, tmp_path: Path,
                                                   sql: str) -> None:
    outside = loaded / "outside.parquet"
    outside.write_bytes((next((loaded / "warehouse" / "runs").glob("*.parquet"))).read_bytes())
    with pytest.raises(QueryRefused, match="reads only the warehouse"):
        run_query(loaded, sql.format(outside=outside, warehouse=loaded / "warehouse"))


def test_reads_answer_with_real_values(loaded: Path) -> None:
    assert run_query(loaded, "SELECT count(*) FROM cells").rows == [(198 * 2,)]
    agencies = run_query(loaded, "WITH r AS (SELECT agency, year FROM reports) "
                                 "SELECT year FROM r ORDER BY year").rows
    assert agencies == [(2019,), (2020,)]
    described = run_query(loaded, "DESCRIBE reports")
    assert ("report_id", "VARCHAR") in [row[:2] for row in described.rows]
    summary = run_query(loaded, "SUMMARIZE SELECT year FROM reports")
    assert summary.rows[0][:4] == ("year", "BIGINT", "2019", "2020")
    assert ("reports",) in run_query(loaded, "SHOW TABLES").rows
    info = run_query(loaded, "PRAGMA table_info('cells')").rows
    assert [row[1] for row in info][:3] == ["report_id", "year", "table"]
    assert run_query(loaded, "EXPLAIN SELECT * FROM cells").columns == ["explain_key",
                                                                         "explain_value"]
    wide = run_query(loaded, "SELECT count(*) FROM requests_wide WHERE year = 2020").rows
    assert wide == [(1,)]
    # the last statement's result
    assert run_query(loaded, "SELECT 1; SELECT count(*) FROM runs").rows == [(1,)]


def test_a_mistake_in_the_sql_is_a_query_error(loaded: Path) -> None:
    with pytest.raises(QueryFailed, match="nope"):
        run_query(loaded, "SELECT nope FROM reports")


def test_reading_etc_shadow_is_one_line_and_debug_shows_the_traceback(loaded: Path) -> None:
    if not os.access("/etc/shadow", os.R_OK):
        pytest.skip("/etc/shadow is not readable here: nothing to keep out")
    done = nianbao("query", "--data-dir", str(loaded), "SELECT * FROM read_text('/etc/shadow')")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("query_refused: ")
    assert "root:" not in done.stdout
    debug = nianbao("--debug", "query", "--data-dir", str(loaded),
                    "SELECT * FROM read_text('/etc/shadow')")
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    assert "QueryRefused" in debug.stderr


def test_a_missing_sql_file_is_a_bad_file_line(loaded: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sql"
    done = nianbao("query", "--data-dir", str(loaded), "--file", str(missing))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"bad_file: [Errno 2] No such file or directory: '{missing}'"]
