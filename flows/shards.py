"""The nightly crawl in shards, with extraction overlapping it.

The portals are dealt into K shards (flows/crawling.py ``deal_shards``); each shard is one task
running one crawler process for all its portals. As soon as a shard finishes, the new documents
its portals fetched are extracted in batches: one task per batch (a task run per document costs
Prefect API calls that add up at thousands of documents), each document still isolated in the
extraction pool (extract/limits.py) with its own time and memory limit and its own error. On a
Dask cluster (flows/runners.py) the shards and the batches run on its workers; every shard and
batch records the ``host:pid`` that ran it.

A shard whose crawler crashes, times out or whose task breaks records an error report for each of
its portals; the other shards, and the run, go on.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed

from crawlers.config import PortalConfig
from crawlers.report import CrawlReport
from extract import Report
from extract.limits import close_shared_pool, shared_pool
from flows.crawling import CrawlResult, run_crawl
from flows.pipeline import Candidate, candidates

EXTRACT_BATCH = 25  # documents per extraction task


def _worker() -> str:
    """Who runs this task: the machine and the process (a Dask worker's, or the flow's)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _portal_seconds(report: CrawlReport) -> float | None:
    if not report.started_at or not report.finished_at:
        return None
    try:
        return (datetime.fromisoformat(report.finished_at)
                - datetime.fromisoformat(report.started_at)).total_seconds()
    except ValueError:
        return None


@dataclass
class ShardOutcome:
    """One shard's crawl: its portals' reports, who ran it and when (epoch seconds)."""

    shard: int
    portals: list[str]
    worker: str | None  # host:pid; None when its task never ran
    started: float | None
    finished: float
    returncode: int | None  # the crawler process's; None when its task never ran
    reports: list[CrawlReport] = field(default_factory=list, repr=False)


@dataclass
class BatchOutcome:
    """One extraction batch: which shard's documents, who read them and when."""

    shard: int | None  # None: documents an earlier crawl left unextracted
    documents: int
    worker: str
    started: float
    finished: float
    reports: list[Report] = field(default_factory=list, repr=False)


@task(name="crawl shard", retries=1, retry_delay_seconds=30, cache_policy=NO_CACHE)
def crawl_shard(shard: int, configs: list[PortalConfig], data_dir: Path, delay: float | None,
                timeout: float) -> ShardOutcome:
    """One crawler process for every portal of the shard; a crawl report per portal (a portal
    the crawler did not report on gets an error report saying why), each with its duration."""
    started = time.time()
    try:
        result = run_crawl([c.source for c in configs], data_dir, delay=delay, timeout=timeout,
                           log_level="WARNING")
        problem = result.config_error or (f"crawler of shard {shard} exited {result.returncode}: "
                                          f"{result.log_tail[-300:]}")
    except subprocess.TimeoutExpired:  # killed by run_crawl; its JOBDIRs resume next run
        result = CrawlResult(returncode=-1)
        problem = f"crawler of shard {shard} timed out after {timeout:.0f} s"
    finished = time.time()
    by_id = {r.portal_id: r for r in result.reports}
    reports = []
    for config in configs:
        report = by_id.get(config.id) or CrawlReport.failed(config.id, config.agency, problem)
        seconds = _portal_seconds(report)
        report.duration_s = round(finished - started if seconds is None else seconds, 2)
        report.shard = shard
        reports.append(report)
    return ShardOutcome(shard, [c.id for c in configs], _worker(), started, finished,
                        result.returncode, reports)


@task(name="extract batch", cache_policy=NO_CACHE)
def extract_batch(shard: int | None, items: list[Candidate]) -> BatchOutcome:
    """A batch of documents in this process's pool of extraction workers (as many at a time as
    it has workers), each under the time and memory limits; one Report per item, in order."""
    started = time.time()
    reports = list(shared_pool().map((item.path, item.suffix, item.images, item.meta.source_url)
                                     for item in items))
    return BatchOutcome(shard, len(items), _worker(), started, time.time(), reports)


@dataclass
class ShardedRun:
    """What the crawl and extraction of a run produced."""

    crawl_reports: list[CrawlReport] = field(default_factory=list)  # in shard order
    items: list[Candidate] = field(default_factory=list)  # extracted, in order of ``reports``
    reports: list[Report] = field(default_factory=list)
    shards: list[ShardOutcome] = field(default_factory=list)  # reports moved to crawl_reports
    batches: list[BatchOutcome] = field(default_factory=list)  # reports moved to ``reports``
    batches_failed: int = 0  # their documents are left for the next run


def _shard_outcome(future: PrefectFuture, shard: int,
                   configs: list[PortalConfig]) -> ShardOutcome:
    future.wait()
    if future.state.is_completed():
        return future.result()
    message = f"crawl shard {shard} task {future.state.name}: {future.state.message}"
    return ShardOutcome(shard, [c.id for c in configs], None, None, time.time(), None,
                        [replace(CrawlReport.failed(c.id, c.agency, message), shard=shard)
                         for c in configs])


def _batches(items: list[Candidate], size: int) -> list[list[Candidate]]:
    return [items[i:i + size] for i in range(0, len(items), max(1, size))]


def crawl_and_extract(shards: list[list[PortalConfig]], data_dir: Path, delay: float | None,
                      timeout: float, regions: dict[str, str],
                      batch_size: int = EXTRACT_BATCH) -> ShardedRun:
    """Every shard crawled at once (as the task runner allows); each shard's new documents go
    to extraction batches the moment it finishes; then the documents no shard claimed (left in
    the raw store by an earlier crawl) are extracted too. Must run inside a flow."""
    logger = get_run_logger()
    run = ShardedRun()
    crawls = {crawl_shard.submit(n, configs, data_dir, delay, timeout): (n, configs)
              for n, configs in enumerate(shards)}
    claimed: set[str] = set()
    pending: list[tuple[PrefectFuture, list[Candidate]]] = []

    def extract_new(shard: int | None, portals: set[str] | None) -> None:
        new = [item for item in candidates(data_dir, only_new=True, regions=regions,
                                           portals=portals) if item.sha256 not in claimed]
        claimed.update(item.sha256 for item in new)
        for batch in _batches(new, batch_size):
            pending.append((extract_batch.submit(shard, batch), batch))
        if new:
            logger.info("shard %s: extracting %d new documents", shard, len(new))

    for future in as_completed(list(crawls)):
        n, configs = crawls[future]
        outcome = _shard_outcome(future, n, configs)
        run.crawl_reports += outcome.reports
        run.shards.append(replace(outcome, reports=[]))
        extract_new(n, {c.id for c in configs})
    extract_new(None, None)

    order = {c.id: i for i, c in enumerate(c for configs in shards for c in configs)}
    run.crawl_reports.sort(key=lambda r: order.get(r.portal_id, len(order)))
    run.shards.sort(key=lambda s: s.shard)
    for future, batch in pending:
        future.wait()
        if not future.state.is_completed():  # a lost worker, say: retried by the next run
            logger.error("extraction batch of %d documents %s: %s", len(batch),
                         future.state.name, future.state.message)
            run.batches_failed += 1
            continue
        outcome = future.result()
        run.items += batch
        run.reports += outcome.reports
        run.batches.append(replace(outcome, reports=[]))
    close_shared_pool()  # this process's extraction workers: their memory is the load's now
    return run
