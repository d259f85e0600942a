"""The published snapshot and `nianbao verify`: a missing or damaged `_published.json` makes
queries and loads refuse in one line with the way out, `verify` names every problem of the data
dir with what to do, `--repair` republishes the latest consistent versions (deleting nothing),
and no load ever drops `runs` or `quality_history` rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from typer.testing import CliRunner

from crawlers.rawstore import ManifestRow, RawStore
from extract import extract_document
from extract.model import Report
from flows.cli import app
from tests.portal import fixtures
from tests.portal.fixtures import write_configs
from tests.portal.sites import static
from warehouse.load import load_reports
from warehouse.schema import TABLES
from warehouse.store import POINTER, PublishedDamaged, PublishedMissing, Warehouse
from warehouse.verify import Problem, record_findings
from warehouse.views import connect

DATA = Path(__file__).parents[1] / "data"
NAMES = ("shanghai_gov_office_2019.html", "weihai_2020.docx")
COUNTED = ("documents", "reports", "cells", "quality_history", "runs")
portal = fixtures.portal


@pytest.fixture(scope="module")
def reports() -> list[Report]:
    return [extract_document(DATA / name) for name in NAMES]


def manifest_row(sha: str, name: str) -> ManifestRow:
    return ManifestRow(
        portal_id="p", url=f"http://x.gov.cn/{name}", final_url=f"http://x.gov.cn/{name}",
        page_url=None, title=name, publish_date="2021-01-20", publisher=None, index_number=None,
        content_type=None, size=0, sha256=sha, fetched_at="2021-01-21T00:00:00+00:00",
        http_status=200, kind="page")


@pytest.fixture
def loaded(tmp_path: Path, reports) -> Path:
    """A data dir after two loads: both documents in the raw store, one report per load."""
    store = RawStore(tmp_path)
    for name in NAMES:
        sha, _ = store.put((DATA / name).read_bytes())
        store.record(manifest_row(sha, name))
    documents = [vars(row) for row in store.rows()]
    load_reports(Warehouse(tmp_path), reports[:1], documents=documents)
    load_reports(Warehouse(tmp_path), reports[1:])
    return tmp_path


def counts(data_dir: Path) -> dict[str, int]:
    con = connect(data_dir)
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}


def cli(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def delta_rows(data_dir: Path, table: str) -> int:
    return DeltaTable(data_dir / "warehouse" / table).to_pyarrow_table().num_rows


def assert_refused_in_one_line(result, kind: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback, only the message
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(kind), result.output
    assert "nianbao verify --repair" in lines[0]


def a1_rows(data_dir: Path) -> int:
    """Agency-name findings of the latest run."""
    con = connect(data_dir)
    return con.execute("SELECT count(*) FROM quality WHERE rule = 'A1'").fetchone()[0]


def test_a_sound_data_dir_verifies(loaded: Path) -> None:
    result = cli("verify", "--data-dir", loaded)
    assert result.exit_code == 0, result.output
    # (every published table: wide_removed is made by the first load that removes a wide row)
    published = Warehouse(loaded).published()
    assert set(published) == set(TABLES) - {"wide_removed"}
    assert result.output.strip().splitlines()[-1] == (
        f"2 objects, 2 manifest rows, {len(published)} tables checked: 0 problems")


def test_deleted_pointer_refuses_query_and_loads_until_repaired(loaded: Path, reports) -> None:
    before = counts(loaded)
    assert before["runs"] == 2 and before["reports"] == 2
    published = Warehouse(loaded).published()
    (loaded / "warehouse" / POINTER).unlink()

    assert_refused_in_one_line(cli("query", "SELECT count(*) FROM runs", "--data-dir", loaded),
                               "published_missing")
    with pytest.raises(PublishedMissing):
        load_reports(Warehouse(loaded), reports)
    assert_refused_in_one_line(cli("rebuild", "--data-dir", loaded), "published_missing")
    assert delta_rows(loaded, "runs") == 2  # nothing dropped

    found = cli("verify", "--data-dir", loaded)
    assert found.exit_code == 1 and found.output.startswith("published_missing ")
    repaired = cli("verify", "--repair", "--data-dir", loaded)
    assert repaired.exit_code == 0, repaired.output
    assert repaired.output.startswith("republished ")
    assert Warehouse(loaded).published() == published
    assert counts(loaded) == before
    again = load_reports(Warehouse(loaded), reports)
    assert again.reports_unchanged == 2
    after = counts(loaded)
    # nothing dropped, nothing added: no new report, the same agency registry (A1 is recorded
    # again for every report only when the registry or the rules change)
    assert after["runs"] == 3 and a1_rows(loaded) == 2
    assert after["quality_history"] == before["quality_history"]


@pytest.mark.parametrize("text", [
    '{"tables": {"cells": 1, "repo',  # torn
    '{"tables": {"cells": "1"}}',  # a version that is not one
    '{"tables": {"cels": 1}}',  # a table nianbao does not have
    '["tables"]',
    "\x00\x00\x00\x00",
    '{"tables": {"documents": 0, "reports": 1, "cells": 1, "quality": 1, "runs": 99}}',
], ids=["torn", "string-version", "unknown-table", "not-an-object", "zeros", "beyond-the-log"])
def test_damaged_pointer_refuses_until_repaired(loaded: Path, reports, text: str) -> None:
    before = counts(loaded)
    published = Warehouse(loaded).published()
    (loaded / "warehouse" / POINTER).write_text(text, encoding="utf-8")

    assert_refused_in_one_line(cli("query", "SELECT * FROM reports", "--data-dir", loaded),
                               "published_damaged")
    with pytest.raises(PublishedDamaged):
        load_reports(Warehouse(loaded), reports)
    assert delta_rows(loaded, "runs") == 2 and delta_rows(loaded, "quality") == before[
        "quality_history"]
    repaired = cli("verify", "--repair", "--data-dir", loaded)
    assert repaired.exit_code == 0, repaired.output
    assert Warehouse(loaded).published() == published and counts(loaded) == before


def test_repair_publishes_the_last_completed_load_not_a_killed_loads_writes(
        loaded: Path, reports) -> None:
    """A load killed after its cells commit leaves a commit nobody published; with the pointer
    gone too, the repair publishes the state of the last load that finished writing."""
    before, published = counts(loaded), Warehouse(loaded).published()
    cells = DeltaTable(loaded / "warehouse" / "cells")
    stray = cells.to_pyarrow_table().slice(0, 10)
    stray = stray.set_column(0, "report_id", pa.array(["killed-load"] * 10))
    write_deltalake(cells.table_uri, stray, mode="append", partition_by=["year"])
    (loaded / "warehouse" / POINTER).unlink()

    repaired = cli("verify", "--repair", "--data-dir", loaded)
    assert repaired.exit_code == 0, repaired.output
    assert Warehouse(loaded).published() == published and counts(loaded) == before
    load_reports(Warehouse(loaded), reports)  # rolls the stray commit back (a new version)
    con = connect(loaded)
    assert con.execute("SELECT count(*) FROM cells WHERE report_id = 'killed-load'"
                       ).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 3


_HOLD_LOCK = """
import fcntl, json, os, sys, time
handle = open(sys.argv[1], "a+")
fcntl.flock(handle, fcntl.LOCK_EX)
handle.seek(0); handle.truncate()
handle.write(json.dumps({"run_id": "other-load", "pid": os.getpid(),
                         "since": "2026-01-01T00:00:00+00:00"})); handle.flush()
print("locked", flush=True)
time.sleep(60)
"""


def test_repair_is_refused_while_a_load_holds_the_lock(loaded: Path) -> None:
    (loaded / "warehouse" / POINTER).unlink()
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK,
                               str(loaded / "warehouse" / ".lock")], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = cli("verify", "--repair", "--data-dir", loaded)
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.startswith("locked ") and "other-load" in result.output
    assert not (loaded / "warehouse" / POINTER).exists()


def test_repair_keeps_findings_recorded_after_the_last_load(loaded: Path) -> None:
    """Findings a run records after its load are a transaction of their own: a repair publishes
    them too, so the next load does not roll them back out of ``quality``."""
    problem = Problem("corrupt_store", "raw_store", "ab" * 32, "its bytes hash to …",
                      "the next crawl fetches it again")
    record_findings(Warehouse(loaded), "a-run", [problem])
    before, published = counts(loaded), Warehouse(loaded).published()
    (loaded / "warehouse" / POINTER).unlink()
    assert cli("verify", "--repair", "--data-dir", loaded).exit_code == 0
    assert Warehouse(loaded).published() == published and counts(loaded) == before
    load_reports(Warehouse(loaded), [])
    con = connect(loaded)
    assert con.execute("SELECT run_id, subject FROM quality_history WHERE rule = "
                       "'corrupt_store'").fetchall() == [("a-run", "ab" * 32)]


def test_verify_names_each_problem_and_deletes_nothing(loaded: Path) -> None:
    store = RawStore(loaded)
    html_sha, docx_sha = (row.sha256 for row in store.rows())
    damaged = store.path_of(docx_sha)
    damaged.chmod(0o644)
    data = damaged.read_bytes()
    damaged.write_bytes(data[:1000] + bytes([data[1000] ^ 0x01]) + data[1001:])
    missing = "ab" * 32
    store.record(manifest_row(missing, "never-stored.pdf"))
    with store.manifest.open("a", encoding="utf-8") as handle:
        handle.write('{"portal_id": "p", "url": \n')  # a line damaged mid-file
    store.record(manifest_row(html_sha, "again.html"))
    (store.objects / "zz").mkdir()
    (store.objects / "zz" / "notes.txt").write_text("x", encoding="utf-8")
    cells_file = min((loaded / "warehouse" / "cells").rglob("*.parquet"))
    cells_file.write_bytes(cells_file.read_bytes()[: cells_file.stat().st_size // 2])
    files_before = sorted(p for p in loaded.rglob("*") if p.is_file())

    result = cli("verify", "--data-dir", loaded)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    kinds = sorted(line.split()[0] for line in lines[:-1])
    assert kinds == ["corrupt_store", "manifest_damaged", "object_missing", "stray_object",
                     "table_unreadable"], result.output
    assert all(" -> " in line for line in lines[:-1])
    assert any(line.startswith(f"corrupt_store {docx_sha}") for line in lines)
    assert any(line.startswith(f"object_missing {missing}") for line in lines)
    assert any(line.startswith("table_unreadable cells") and cells_file.name in line
               for line in lines)
    [moved] = store.quarantine_dir.iterdir()
    assert moved.read_bytes()[1000] == data[1000] ^ 0x01 and not damaged.exists()
    files_after = sorted(p for p in loaded.rglob("*") if p.is_file())
    assert set(files_before) - set(files_after) == {damaged}  # moved aside, nothing deleted

    again = cli("verify", "--data-dir", loaded)  # the quarantined object is still owed
    assert again.exit_code == 1
    assert f"object_quarantined {docx_sha}" in again.output
    assert "corrupt_store" not in again.output


def test_repair_does_not_publish_older_versions_over_a_damaged_table_file(loaded: Path) -> None:
    """A truncated Parquet file is reported with the way out; --repair does not step back to
    older versions (the next load would then roll newer runs rows out of view)."""
    published = Warehouse(loaded).published()
    newest = max((loaded / "warehouse" / "cells").rglob("*.parquet"),
                 key=lambda path: path.stat().st_mtime_ns)
    newest.write_bytes(newest.read_bytes()[:100])
    result = cli("verify", "--repair", "--data-dir", loaded)
    assert result.exit_code == 1 and "republished" not in result.output
    [line] = [x for x in result.output.splitlines() if x.startswith("table_unreadable cells")]
    assert newest.name in line and "nianbao rebuild" in line
    assert Warehouse(loaded).published() == published


def test_a_first_load_killed_before_publishing_is_not_a_missing_pointer(
        tmp_path: Path, reports) -> None:
    """Tables without a pointer and without a completed load are a first load's leftovers: the
    next load starts over (their rows stay in the Delta history)."""
    row = {"report_id": "killed", "year": 2020, "table": "requests", "row": "new",
           "col": "total", "corrected": False}
    write_deltalake(tmp_path / "warehouse" / "cells",
                    pa.Table.from_pylist([row], schema=TABLES["cells"].schema),
                    mode="append", partition_by=["year"])
    assert Warehouse(tmp_path).published() == {}
    result = load_reports(Warehouse(tmp_path), reports)
    assert result.reports_loaded == 2
    con = connect(tmp_path)
    assert con.execute("SELECT count(*) FROM cells WHERE report_id = 'killed'").fetchone()[0] == 0
    history = DeltaTable(tmp_path / "warehouse" / "cells", version=0).to_pyarrow_table()
    assert history["report_id"].to_pylist() == ["killed"]



@pytest.mark.slow
def test_nightly_run_records_what_verify_finds(portal, tmp_path: Path) -> None:
    """The nightly flow verifies what it touched: a stored copy found damaged during the run
    (here by the crawl, which then fetches the document again) is a quality finding of the run
    and a row of its failures artifact."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.testing.utilities import prefect_test_harness

    from flows.nightly import nightly
    from flows.summary import FAILURES_KEY

    portal.reset()
    configs, data = tmp_path / "configs", tmp_path / "data"
    for path in write_configs(portal, configs):
        if path.stem != static.SITE.portal_id:
            path.unlink()
    with prefect_test_harness(server_startup_timeout=120):
        first = nightly(portals=str(configs), data_dir=str(data), delay=0, return_state=True)
        assert first.is_completed(), first.message
        store = RawStore(data)
        [row] = [r for r in store.rows() if r.url.endswith(static.REPORT_2022)]
        good = store.path_of(row.sha256).read_bytes()
        target = store.path_of(row.sha256)
        target.chmod(0o644)
        target.write_bytes(good[:100] + bytes([good[100] ^ 0x20]) + good[101:])

        second = nightly(portals=str(configs), data_dir=str(data), delay=0, return_state=True)
        assert second.is_completed() and second.message.startswith("completed with failures")
        run_id = second.result().run_id
        with get_client(sync_client=True) as client:
            found = client.read_artifacts(artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[FAILURES_KEY])))
        [artifact] = [a for a in found if a.flow_run_id == second.state_details.flow_run_id]
        table = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
        assert [r["subject"] for r in table if r["rule"] == "corrupt_store"] == [row.sha256]
        con = connect(data)
        assert con.execute("SELECT run_id, scope, status FROM quality_history WHERE rule = "
                           "'corrupt_store' AND subject = ?", [row.sha256]).fetchall() == [
            (run_id, "raw_store", "FAIL")]
        assert store.path_of(row.sha256).read_bytes() == good  # fetched again by the crawl

        (data / "warehouse" / POINTER).unlink()  # a lost pointer: the run refuses before work
        portal.log.clear()
        third = nightly(portals=str(configs), data_dir=str(data), delay=0, return_state=True)
    assert third.is_failed() and third.message.startswith("published_missing: ")
    assert "nianbao verify --repair" in third.message and len(portal.log) == 0
    assert delta_rows(data, "runs") == 2
