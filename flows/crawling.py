"""Run the crawler subprocess (``python -m crawlers.run``) and collect its crawl reports.

A subprocess, because Twisted's reactor runs once per process: the CLI and the nightly flow can
crawl again and again from one long-lived process this way. It dies with the process that
started it, even under ``kill -9`` (flows/children.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flows.children import dying_with_this_process


@dataclass
class CrawlResult:
    reports: list[dict] = field(default_factory=list)
    config_error: str | None = None
    returncode: int = 0
    log_tail: str = ""

    @property
    def ok(self) -> bool:
        """Every portal crawled whole (``partial``, ``error`` and ``blocked`` are not ok)."""
        return not self.config_error and all(r.get("status") == "ok" for r in self.reports)


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
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return CrawlResult(reports=reports, returncode=done.returncode, log_tail=log_tail)
