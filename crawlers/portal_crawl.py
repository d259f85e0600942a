"""One portal's part of a crawl that runs many portals in one Scrapy engine.

The spider keeps one ``PortalCrawl`` per portal, found from a request's ``meta["portal_id"]``:
its config, crawl report, counters, list offsets and whether (and why) it has stopped. A portal
stops on its own - its request/document cap (``list_truncated``) or its deadline (``deadline``) -
while the others go on: its requests are then held back instead of sent, and kept with its list
offsets in a resume record, ``DATA_DIR/state/resume/<portal>.pickle``, that its next run starts
from. The record is replaced when the crawl closes, so a killed crawl leaves the previous one in
place (re-reading it is harmless: what was fetched since is answered from the raw store).
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

from crawlers.config import PortalConfig
from crawlers.faults import LIST_TRUNCATED, is_disk_full
from crawlers.report import CrawlReport

logger = logging.getLogger(__name__)

MIN_DELAY = 0.001  # seconds; see PortalCrawl.slot_settings


class PortalStopped(IgnoreRequest):
    """A request of a stopped portal: not sent, kept in its resume record (not a fault)."""


def resume_path(data_dir: Path, portal_id: str) -> Path:
    return Path(data_dir) / "state" / "resume" / f"{portal_id}.pickle"


@dataclass
class PortalCrawl:
    config: PortalConfig
    delay: float  # seconds between requests to one of its hosts
    recheck_days: float
    started: float  # time.monotonic() when the crawl started
    deadline: float  # time.monotonic() past which the portal stops
    report: CrawlReport = field(init=False)
    reports_seen: set[str] = field(default_factory=set)
    documents_fetched: int = 0  # downloaded whole this run (max_documents counts these)
    entries_queued: int = 0  # list entries followed this run (at most max_requests)
    requests_sent: int = 0  # requests that reached the network (max_requests counts these)
    stopping: str | None = None  # list_truncated | deadline once the portal stops
    # List page URL -> {"offset": entries already queued, "fragment": its sub-column}.
    list_offsets: dict[str, dict] = field(default_factory=dict)
    held: list[dict[str, Any]] = field(default_factory=list)  # requests kept for the next run
    start_folders: list[str] = field(init=False)
    _resumed: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.report = CrawlReport(self.config.id, self.config.agency)
        self.start_folders = [urlsplit(u).path.rsplit("/", 1)[0] + "/"
                              for u in self.config.start_urls]

    @property
    def id(self) -> str:
        return self.config.id

    def slot_settings(self) -> dict[str, Any]:
        """Download slot settings for each of its hosts: one request in flight, its own delay.
        A delay of 0 lets Scrapy's downloader start several queued requests of one host at once
        (it breaks out of its queue loop only when a delay is set): 1 ms keeps one in flight."""
        return {"concurrency": 1, "delay": max(self.delay, MIN_DELAY)}

    @property
    def deadline_seconds(self) -> float:
        return self.deadline - self.started

    def past_deadline(self, now: float | None = None) -> bool:
        return (now if now is not None else time.monotonic()) >= self.deadline

    def stop(self, kind: str) -> bool:
        """Mark the portal stopped by ``kind``; False when it had stopped already."""
        if self.stopping:
            return False
        self.stopping = kind
        return True

    def hold(self, request_dict: dict[str, Any]) -> None:
        self.held.append(request_dict)

    def finish_reason(self, crawl_reason: str) -> str:
        """Why this portal's crawl ended: the whole crawl's end (a full disk, a shutdown) first,
        then its own stop, then ``list_truncated`` for lists left unread for the next run."""
        if crawl_reason != "finished":
            return crawl_reason
        if self.stopping:
            return self.stopping
        if self.list_offsets or self.held:
            return LIST_TRUNCATED
        return "finished"

    # -- the resume record -----------------------------------------------------------------------
    def load_resume(self, data_dir: Path) -> None:
        path = resume_path(data_dir, self.id)
        try:
            saved = pickle.loads(path.read_bytes())
        except FileNotFoundError:
            return
        except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as exc:
            logger.warning("resume record of %s unreadable (%s): starting over", self.id, exc)
            return
        self.list_offsets = dict(saved.get("lists", {}))
        self.held = []
        self._resumed = list(saved.get("requests", []))

    def resumed_requests(self) -> list[dict[str, Any]]:
        """The requests the previous run held back (read by load_resume), once."""
        requests, self._resumed = self._resumed, []
        return requests

    def save_resume(self, data_dir: Path) -> None:
        """Write the record (or remove it when nothing is left); a full disk logs one line."""
        path = resume_path(data_dir, self.id)
        if not self.list_offsets and not self.held:
            path.unlink(missing_ok=True)
            return
        data = pickle.dumps({"lists": self.list_offsets, "requests": self.held},
                            protocol=pickle.HIGHEST_PROTOCOL)
        tmp = path.with_suffix(".incoming")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if not is_disk_full(exc):
                raise
            logger.error("disk_full: resume record of %s not written (%s)", self.id,
                         exc.strerror)

