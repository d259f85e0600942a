"""The nightly pipeline as a Prefect flow: crawl the portals in shards, extracting each shard's
new documents as soon as it finished (flows/shards.py) -> load -> checks -> run summary, quality
artifacts and the ``runs`` row.

A bad portal or document never fails the run: its failure is recorded and the run completes
("Completed" with the failures in its message and artifacts). Only a broken pipeline (the
warehouse cannot be written, say) fails it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.states import Completed, Failed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from crawlers.config import load_configs
from crawlers.report import CrawlReport
from extract import Report
from flows.crawling import deal_shards, default_shard_count
from flows.pipeline import Candidate, load_extracted
from flows.runners import make_task_runner
from flows.shards import EXTRACT_BATCH, BatchOutcome, ShardOutcome, crawl_and_extract
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
from warehouse.runs import RunRecord
from warehouse.store import SnapshotError, Warehouse, WarehouseLocked

CRAWL_TIMEOUT = 3 * 3600  # seconds per shard (its portals are crawled at the same time)
# Documents that could not be tried (not unreadable): left out of the warehouse, retried next run.
SKIP_ERRORS = ("libreoffice_missing", "ocr_missing")


@dataclass
class NightlyResult:
    """What a nightly run returns (its state's data): the run's counts, its quality and how
    its shards and extraction batches went."""

    run_id: str
    portals: int
    portals_failed: int
    portals_blocked: int
    portals_partial: int
    documents_new: int
    reports_new: int
    reports_unreadable: int
    documents_skipped: int
    quality_fail: int
    quality_uncertain: int
    documents_extracted: int
    batches_failed: int
    failures: list[dict] = field(default_factory=list)  # rows of the failures artifact
    pass_rates: list[dict] = field(default_factory=list)  # rows of the pass-rate table
    crawl_reports: list[CrawlReport] = field(default_factory=list)
    shards: list[ShardOutcome] = field(default_factory=list)
    batches: list[BatchOutcome] = field(default_factory=list)


@task(name="load warehouse", cache_policy=NO_CACHE)
def load(data_dir: Path, reports: list[Report], items: list[Candidate], run: RunRecord,
         expected_agencies: dict[str, list[str]], run_id: str) -> LoadResult:
    return load_extracted(data_dir, reports, items, run_id=run_id, run=run,
                          expected_agencies=expected_agencies)


@task(name="verify", cache_policy=NO_CACHE)
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


@task(name="record quality", cache_policy=NO_CACHE)
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


def _run_record(started: datetime, crawl_reports: list[CrawlReport]) -> RunRecord:
    """What the crawl tells the ``runs`` row of a nightly run."""
    statuses = [r.status for r in crawl_reports]
    return RunRecord(kind="nightly", started_at=started, portals=len(crawl_reports),
                     portals_failed=statuses.count("error"),
                     portals_blocked=statuses.count("blocked"),
                     documents_new=sum(r.documents_new for r in crawl_reports))


def _thread_slots() -> int | None:
    """Tasks this flow runs at once on a thread pool (None on a Dask cluster: its size is the
    cluster's)."""
    runner = getattr(FlowRunContext.get(), "task_runner", None)
    return getattr(runner, "_max_workers", None) if isinstance(
        runner, ThreadPoolTaskRunner) else None


@flow(name="nianbao-nightly", log_prints=True, task_runner=make_task_runner("threads"))
def nightly(portals: str = "crawlers/portals", data_dir: str = "data",
            delay: float | None = None, crawl_timeout: float = CRAWL_TIMEOUT,
            shards: int | None = None, batch_size: int = EXTRACT_BATCH):
    """Crawl every portal config under ``portals`` in ``shards`` crawler processes (default:
    from the portal count and the cores), extract new documents in batches of ``batch_size``,
    load, check."""
    logger = get_run_logger()
    data = Path(data_dir)
    run_id, started = new_run_id(), datetime.now(UTC)
    try:  # a lost or damaged pointer refuses the run before any work, in one line
        Warehouse(data).published()
    except SnapshotError as exc:
        return Failed(message=f"{exc.kind}: {exc}")
    configs = load_configs(Path(portals))
    dealt = deal_shards(configs, shards or default_shard_count(len(configs),
                                                               task_slots=_thread_slots()))
    logger.info("run %s: crawling %d portals in %d shards", run_id, len(configs), len(dealt))
    crawled = crawl_and_extract(dealt, data, delay, crawl_timeout,
                                {c.id: c.region for c in configs if c.region}, batch_size)
    order = {c.id: i for i, c in enumerate(configs)}
    crawl_reports = sorted(crawled.crawl_reports, key=lambda r: order.get(r.portal_id, 0))
    items = crawled.items
    skipped = [(r.file, r.error_code) for r in crawled.reports if r.error_code in SKIP_ERRORS]
    reports = [r for r in crawled.reports if r.error_code not in SKIP_ERRORS]

    # Only agencies a config lists: the portal's owner often titles its reports differently.
    expected = {c.id: list(c.agencies) for c in configs if c.agencies}
    # quote(): Prefect would otherwise walk every cell of every report looking for futures
    # (about 10 ms a report: minutes at a national run), and hash them for a cache key
    loaded = load(data, quote(reports), quote(items), _run_record(started, crawl_reports),
                  expected, run_id)
    summary = RunSummary(run_id, crawl_reports, loaded, skipped)
    verify_touched(data, run_id, started, [item.sha256 for item in items])
    summary = record_quality(data, quote(summary))
    counts = summary.counts()
    message = (f"{counts['reports_new']} reports new, {counts['quality_fail']} FAIL findings, "
               f"{counts['portals_failed']} portals failed, {counts['portals_blocked']} blocked, "
               f"{counts['portals_partial']} partial, "
               f"{counts['documents_skipped']} documents skipped")
    logger.info("run %s: %s", run_id, message)
    result = NightlyResult(run_id, **counts, documents_extracted=len(items),
                           batches_failed=crawled.batches_failed, failures=summary.failures,
                           pass_rates=summary.pass_rates, crawl_reports=crawl_reports,
                           shards=crawled.shards, batches=crawled.batches)
    return Completed(message=("completed with failures: " if summary.has_failures
                              else "completed: ") + message, data=result)
