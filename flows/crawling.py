"""Run the crawler subprocess (``python -m crawlers.run``) and collect its crawl reports.

A subprocess, because Twisted's reactor runs once per process: the CLI and the nightly flow can
crawl again and again from one long-lived process this way. It dies with the process that
started it, even under ``kill -9`` (flows/children.py). The nightly flow deals its portals into
shards, one crawler process each (``deal_shards``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from crawlers.config import PortalConfig
from crawlers.report import CrawlReport
from flows.children import dying_with_this_process


@dataclass
class CrawlResult:
    reports: list[CrawlReport] = field(default_factory=list)
    config_error: str | None = None
    returncode: int = 0
    log_tail: str = ""

    @property
    def ok(self) -> bool:
        """Every portal crawled whole (``partial``, ``error`` and ``blocked`` are not ok)."""
        return not self.config_error and all(r.status == "ok" for r in self.reports)


def run_crawl(portals: Path | Sequence[Path], data_dir: Path, *, delay: float | None = None,
              timeout: float | None = None, echo_log: bool = False,
              log_level: str = "INFO", recheck_days: float | None = None,
              portal_deadline: float | None = None) -> CrawlResult:
    """Crawl ``portals`` (a config file or folder, or a list of them: one crawler process)."""
    paths = [portals] if isinstance(portals, (str, Path)) else list(portals)
    command = [sys.executable, "-m", "crawlers.run", "--portals", *map(str, paths),
               "--data-dir", str(data_dir), "--log-level", log_level]
    if delay is not None:
        command += ["--delay", str(delay)]
    if recheck_days is not None:
        command += ["--recheck-days", str(recheck_days)]
    if portal_deadline is not None:  # seconds; overrides every portal's deadline_minutes
        command += ["--portal-deadline", str(portal_deadline)]
    stderr = None if echo_log else subprocess.PIPE
    done = subprocess.run(dying_with_this_process(command), stdout=subprocess.PIPE,
                          stderr=stderr, text=True, timeout=timeout, check=False)
    log_tail = (done.stderr or "")[-4000:]
    if done.returncode == 2:
        message = next((line for line in log_tail.splitlines() if "config error" in line),
                       log_tail.strip().splitlines()[-1] if log_tail.strip() else "config error")
        return CrawlResult(config_error=message.replace("config error: ", ""), returncode=2,
                           log_tail=log_tail)
    reports = [CrawlReport.from_json(line) for line in done.stdout.splitlines()
               if line.startswith("{")]
    return CrawlResult(reports=reports, returncode=done.returncode, log_tail=log_tail)


# Portals per crawler process before another shard is worth its process start.
PORTALS_PER_SHARD = 500


def default_shard_count(portals: int, cores: int | None = None,
                        task_slots: int | None = None) -> int:
    """One crawler process per core, more when a shard would hold over ``PORTALS_PER_SHARD``
    portals, never more than there are portals; with ``task_slots`` (tasks the runner runs at
    once), one slot is left for extraction so that it overlaps the crawl."""
    cores = cores or os.cpu_count() or 2
    wanted = max(cores, -(-portals // PORTALS_PER_SHARD))
    if task_slots:
        wanted = min(wanted, max(1, task_slots - 1))
    return max(1, min(portals, wanted))


def deal_shards(configs: Sequence[PortalConfig], count: int) -> list[list[PortalConfig]]:
    """``configs`` in ``count`` shards (no empty one), the same shards for the same configs.

    Portals that share a start URL host stay together: one crawler process's per-host slot is
    what keeps the crawl polite to a host, and two processes would each use their own. Host
    groups, largest first (then by host), go to the shard with the fewest portals so far (then
    the lowest number); within a shard portals are sorted by id. A portal's JOBDIR is its own
    (``data/state/jobs/<id>``), so an interrupted crawl resumes in whichever shard it lands.
    """
    if count < 1:
        raise ValueError(f"shards: {count}; at least 1")
    groups: dict[str, list[PortalConfig]] = {}
    for config in sorted(configs, key=lambda c: c.id):
        host = urlsplit(config.start_urls[0]).hostname if config.start_urls else None
        groups.setdefault(host or config.id, []).append(config)
    shards: list[list[PortalConfig]] = [[] for _ in range(min(count, len(groups)))]
    for _, group in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        min(shards, key=len).extend(group)  # min() keeps the first of equals: stable
    return [sorted(shard, key=lambda c: c.id) for shard in shards if shard]
