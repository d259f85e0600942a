"""The nightly flow, run for real (prefect_test_harness) against the local test portal."""

from __future__ import annotations

import json
from datetime import UTC

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.testing.utilities import prefect_test_harness

from flows.nightly import nightly
from flows.runners import make_task_runner
from flows.summary import FAILURES_KEY, SUMMARY_KEY
from tests.portal import fixtures
from tests.portal.expected import EXPECTED
from tests.portal.fixtures import write_configs
from warehouse.views import connect

portal = fixtures.portal

BROKEN = next((site, r) for site, e in EXPECTED.items() for r in e.reports if r.failing_checks)


@pytest.fixture(scope="module")
def harness():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def artifacts(key: str, flow_run_id) -> list:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[key])))
    return [a for a in found if a.flow_run_id == flow_run_id]


@pytest.fixture(scope="module")
def runs(harness, portal, tmp_path_factory) -> dict:
    """Two nightly runs over every test site plus a portal that answers only 404s."""
    portal.reset()
    root = tmp_path_factory.mktemp("nightly")
    configs = root / "configs"
    write_configs(portal, configs)
    (configs / "gone.yaml").write_text(
        f"id: fixture-gone\nagency: 示例县人民政府\n"
        f"start_urls: [\"{portal.base_url('errors')}/no/such/column/\"]\n", encoding="utf-8")
    first = nightly(portals=str(configs), data_dir=str(root / "data"), delay=0,
                    return_state=True)
    second = nightly(portals=str(configs), data_dir=str(root / "data"), delay=0,
                     return_state=True)
    return {"data": root / "data", "first": first, "second": second}


def test_run_completes_and_fills_the_warehouse(runs) -> None:
    state = runs["first"]
    assert state.is_completed() and state.message.startswith("completed with failures")
    con = connect(runs["data"])
    huaian = con.execute("SELECT new__total FROM requests_wide WHERE agency = '淮安市人民政府' "
                         "AND year = 2024").fetchall()
    assert huaian == [(3119.0,)]  # the real PDF, crawled from the Hanweb site and extracted
    assert con.execute("SELECT count(*) FROM documents").fetchone()[0] > 200
    (run,) = con.execute("SELECT kind, portals, portals_blocked, reports_loaded FROM runs "
                         "WHERE run_id = ?", [state.result().run_id]).fetchall()
    assert run[0] == "nightly" and run[1] == len(EXPECTED) + 1 and run[2] == 4  # + fixture-gone
    assert run[3] > 200


def test_report_breaking_r1_is_recorded_and_in_the_failures_artifact(runs) -> None:
    site, report = BROKEN
    con = connect(runs["data"])
    rows = con.execute(
        "SELECT q.subject, q.expected, q.observed FROM quality q JOIN reports r USING (report_id) "
        "WHERE r.agency = ? AND r.year = ? AND q.rule = 'R1' AND q.status = 'FAIL' ORDER BY 1",
        [report.agency, report.year]).fetchall()
    assert [r[0] for r in rows] == ["requests/*/natural_person", "requests/*/total"]
    state = runs["first"]
    (artifact,) = artifacts(FAILURES_KEY, state.state_details.flow_run_id)
    table = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    assert any(row["rule"] == "R1" and row["agency"] == report.agency
               and row["year"] == report.year and row["portal"] == EXPECTED[site].portal_id
               and row["expected"] is not None and row["observed"] is not None
               for row in table)


def test_failing_portals_do_not_fail_the_run_and_are_named(runs) -> None:
    state = runs["first"]
    (artifact,) = artifacts(SUMMARY_KEY, state.state_details.flow_run_id)
    for site in ("ruishu", "jiasule", "safedog"):
        assert EXPECTED[site].portal_id in artifact.data
    assert "fixture-gone" in artifact.data and "Blocked" in artifact.data
    result = state.result()
    assert result.portals_blocked == 4 and result.portals_failed == 1
    assert any(f["rule"] == "crawl:error" and f["portal"] == "fixture-gone"
               for f in result.failures)


def test_second_run_extracts_nothing_again(runs) -> None:
    first, second = runs["first"].result(), runs["second"].result()
    assert first.documents_extracted > 200
    assert second.documents_extracted == 0 and second.reports_new == 0
    assert second.documents_new == 0


@pytest.mark.slow
def test_extraction_runs_on_a_dask_cluster(harness, portal, tmp_path) -> None:
    """The same flow with extraction spread over a local Dask cluster (prefect-dask)."""
    write_configs(portal, tmp_path / "all")
    configs = tmp_path / "configs"
    configs.mkdir()
    static = EXPECTED["static"].portal_id
    (configs / f"{static}.yaml").write_text(
        (tmp_path / "all" / f"{static}.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    flow = nightly.with_options(task_runner=make_task_runner("dask", workers=2))
    state = flow(portals=str(configs), data_dir=str(tmp_path / "data"), delay=0,
                 return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert result.documents_extracted >= 4 and result.reports_new >= 3
    agencies = {a for (a,) in connect(tmp_path / "data").execute(
        "SELECT agency FROM reports WHERE canonical").fetchall()}
    assert "上海市人民政府办公厅" in agencies


def test_unknown_task_runner_is_refused() -> None:
    with pytest.raises(ValueError, match="threads, dask"):
        make_task_runner("ray")



def test_run_record_fills_the_runs_row(tmp_path) -> None:
    """The flow's facts about a run reach its ``runs`` row as typed fields."""
    from datetime import datetime

    from warehouse.load import load_reports
    from warehouse.runs import RunRecord
    from warehouse.store import Warehouse

    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    record = RunRecord(kind="nightly", started_at=started, portals=5, portals_failed=1,
                       portals_blocked=2, documents_new=7)
    result = load_reports(Warehouse(tmp_path), [], run_id="r-typed", run=record)
    (row,) = connect(tmp_path).execute(
        "SELECT kind, started_at, status, portals, portals_failed, portals_blocked, "
        "documents_new, message FROM runs WHERE run_id = ?", [result.run_id]).fetchall()
    assert row[0] == "nightly" and row[1].astimezone(UTC) == started
    assert row[2:] == ("completed_with_failures", 5, 1, 2, 7, None)
