"""The nightly pipeline as a Prefect flow: crawl each portal -> extract new documents -> load ->
checks -> run summary, quality artifacts and the ``runs`` row.

A bad portal or document never fails the run: its failure is recorded and the run completes
("Completed" with the failures in its message and artifacts). Only a broken pipeline (the
warehouse cannot be written, say) fails it.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Completed, Failed

from crawlers.config import PortalConfig, load_configs
from extract import Report
from extract.limits import shared_pool
from flows.crawling import run_crawl
from flows.pipeline import Candidate, candidates, load_extracted
from flows.runners import make_task_runner
from flows.summary import (
    FAILURES_KEY,
    SUMMARY_KEY,
    RunSummary,
    crawl_failures,
    markdown,
    warehouse_findings,
)
from flows.verify import verify_run
from warehouse.load import LoadResult, new_run_id
from warehouse.store import SnapshotError, Warehouse, WarehouseLocked

CRAWL_TIMEOUT = 3 * 3600  # seconds per portal
# Documents that could not be tried (not unreadable): left out of the warehouse, retried next run.
SKIP_ERRORS = ("libreoffice_missing", "ocr_missing")


@task(name="crawl portal", retries=1, retry_delay_seconds=30)
def crawl_portal(config: PortalConfig, data_dir: Path, delay: float | None,
                 timeout: float) -> dict:
    """One portal's crawl in its own subprocess; its crawl report, with how long it took."""
    started = time.monotonic()
    result = run_crawl(config.source, data_dir, delay=delay, timeout=timeout,
                       log_level="WARNING")
    report = result.reports[0] if result.reports else {
        "portal_id": config.id, "agency": config.agency, "status": "error",
        "message": result.config_error or f"crawler exited {result.returncode}: "
                                           f"{result.log_tail[-300:]}"}
    report["duration_s"] = round(time.monotonic() - started, 2)
    return report


@task(name="extract document")
def extract_one(item: Candidate) -> Report:
    """One document (a task run each: its own record) in this process's pool of recycled
    extraction workers, under the time and memory limits."""
    return shared_pool().extract(item.path, item.suffix, item.images, item.meta.source_url)


@task(name="load warehouse")
def load(data_dir: Path, reports: list[Report], items: list[Candidate], run: dict,
         expected_agencies: dict[str, list[str]], run_id: str) -> LoadResult:
    return load_extracted(data_dir, reports, items, run_id=run_id, run=run,
                          expected_agencies=expected_agencies)


@task(name="verify")
def verify_touched(data_dir: Path, run_id: str, started: datetime, extracted: list[str]) -> int:
    """``nianbao verify`` on what this run touched; its problems become quality findings (and
    so rows of the failures artifact)."""
    try:
        problems = verify_run(data_dir, run_id, started, extracted)
    except (SnapshotError, WarehouseLocked) as exc:  # findings unrecordable: said, not fatal
        get_run_logger().error("verify: findings not recorded: %s", exc)
        return 0
    for problem in problems:
        get_run_logger().warning("verify: %s", problem.line())
    return len(problems)


@task(name="record quality")
def record_quality(data_dir: Path, summary: RunSummary) -> RunSummary:
    """Failures table and run summary as Prefect artifacts with stable keys (their history shows
    in the UI)."""
    findings, summary.pass_rates = warehouse_findings(data_dir, summary.run_id)
    summary.failures = crawl_failures(summary.crawl_reports) + findings
    rows = summary.failures or [{"portal": None, "agency": None, "year": None, "rule": None,
                                 "subject": None, "expected": None, "observed": None,
                                 "message": "no failures"}]
    create_table_artifact(rows, key=FAILURES_KEY,
                          description=f"Quality failures of run {summary.run_id}")
    create_markdown_artifact(markdown(summary, data_dir), key=SUMMARY_KEY,
                             description=f"Summary of run {summary.run_id}")
    return summary


def _crawl_all(configs: list[PortalConfig], data_dir: Path, delay: float | None,
               timeout: float) -> list[dict]:
    futures = [(c, crawl_portal.submit(c, data_dir, delay, timeout)) for c in configs]
    reports = []
    for config, future in futures:
        future.wait()
        if future.state.is_completed():
            reports.append(future.result())
        else:  # the crawl task itself broke (timeout, crash): recorded, the run goes on
            reports.append({"portal_id": config.id, "agency": config.agency, "status": "error",
                            "message": f"crawl task {future.state.name}: {future.state.message}"})
    return reports


@flow(name="nianbao-nightly", log_prints=True, task_runner=make_task_runner("threads"))
def nightly(portals: str = "crawlers/portals", data_dir: str = "data",
            delay: float | None = None, crawl_timeout: float = CRAWL_TIMEOUT):
    """Crawl every portal config under ``portals``, extract new documents, load, check."""
    logger = get_run_logger()
    data = Path(data_dir)
    run_id, started = new_run_id(), datetime.now(timezone.utc)
    try:  # a lost or damaged pointer refuses the run before any work, in one line
        Warehouse(data).published()
    except SnapshotError as exc:
        return Failed(message=f"{exc.kind}: {exc}")
    configs = load_configs(Path(portals))
    logger.info("run %s: crawling %d portals", run_id, len(configs))
    crawl_reports = _crawl_all(configs, data, delay, crawl_timeout)

    items = candidates(data, only_new=True, regions={c.id: c.region for c in configs
                                                      if c.region})
    logger.info("extracting %d new documents", len(items))
    futures = [extract_one.submit(item) for item in items]
    extracted = [f.result() for f in futures]
    skipped = [(r.file, r.error_code) for r in extracted if r.error_code in SKIP_ERRORS]
    reports = [r for r in extracted if r.error_code not in SKIP_ERRORS]

    summary = RunSummary(run_id, crawl_reports, LoadResult(run_id), skipped)
    counts = summary.counts()
    run = {"kind": "nightly", "started_at": started, "portals": counts["portals"],
           "portals_failed": counts["portals_failed"], "portals_blocked": counts["portals_blocked"],
           "documents_new": counts["documents_new"]}
    # Only agencies a config lists: the portal's owner often titles its reports differently.
    expected = {c.id: list(c.agencies) for c in configs if c.agencies}
    summary.load = load(data, reports, items, run, expected, run_id)
    verify_touched(data, run_id, started, [item.sha256 for item in items])
    summary = record_quality(data, summary)
    counts = summary.counts()
    message = (f"{counts['reports_new']} reports new, {counts['quality_fail']} FAIL findings, "
               f"{counts['portals_failed']} portals failed, {counts['portals_blocked']} blocked, "
               f"{counts['portals_partial']} partial, "
               f"{counts['documents_skipped']} documents skipped")
    logger.info("run %s: %s", run_id, message)
    result = {"run_id": run_id, **counts, "documents_extracted": len(items),
              "failures": summary.failures,
              "pass_rates": summary.pass_rates, "crawl_reports": crawl_reports}
    return Completed(message=("completed with failures: " if summary.has_failures
                              else "completed: ") + message, data=result)
