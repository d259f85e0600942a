"""The crawl report of one portal: what was fetched, found, stored, refused and why.

A portal that found reports before and none now, or none ever, is an error; a challenge page is
``blocked:<vendor>``. A portal that found reports but lost documents on the way (timeouts, size
caps, bombs; see crawlers/faults.py) or was cut short by its request/document cap or its
deadline is ``partial``: the run's failures list it. Reports are written to
``DATA_DIR/state/crawl-reports/<portal>.json`` and appended to
``DATA_DIR/state/crawl-history.jsonl``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from crawlers.faults import DEADLINE, LIST_TRUNCATED, LOST_DOCUMENT_KINDS, is_disk_full

# Reasons a portal stopped on its own, with the rest of its crawl left for its next run.
CUT_SHORT = {LIST_TRUNCATED: "cut short by its request/document cap",
             DEADLINE: "stopped at its deadline"}

# The counters of a crawl report, kept in Scrapy's stats collector while the crawl runs (keys
# from ``counter_key``) and read into the report when it closes.
COUNTERS = ("pages_fetched", "reports_found", "documents_new", "documents_unchanged",
            "decoys_skipped", "retries")

logger = logging.getLogger(__name__)


class StatsReader(Protocol):
    def get_value(self, key: str, default: Any = None) -> Any: ...


def counter_key(portal_id: str, counter: str) -> str:
    """The stats key of one portal's counter (one of ``COUNTERS``)."""
    return f"nianbao/{portal_id}/{counter}"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class CrawlReport:
    portal_id: str
    agency: str
    started_at: str | None = field(default_factory=utc_now)
    finished_at: str | None = None
    finish_reason: str | None = None
    status: str = "running"  # ok | partial | error | blocked
    message: str = ""
    pages_fetched: int = 0
    reports_found: int = 0
    documents_new: int = 0
    documents_unchanged: int = 0
    decoys_skipped: int = 0
    retries: int = 0
    blocked: list[str] = field(default_factory=list)  # ["blocked:ruishu", ...]
    errors: dict[str, list[str]] = field(default_factory=dict)  # kind -> urls
    # Added by the nightly flow (flows/shards.py): seconds the portal took, and its shard.
    # Left out of the JSON while unset, so the crawler's reports keep their shape.
    duration_s: float | None = None
    shard: int | None = None

    @classmethod
    def failed(cls, portal_id: str, agency: str | None, message: str) -> CrawlReport:
        """The report of a portal that the crawler did not report on (it crashed, say)."""
        return cls(portal_id, agency or "", started_at=None, status="error", message=message)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CrawlReport:
        """A report read back from its JSON (a crawler process's stdout, a report file);
        keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_json(cls, line: str) -> CrawlReport:
        return cls.from_dict(json.loads(line))

    def read_counters(self, stats: StatsReader) -> None:
        """The counters from Scrapy's stats collector (see ``counter_key``)."""
        for counter in COUNTERS:
            setattr(self, counter, int(stats.get_value(counter_key(self.portal_id, counter), 0)))

    @property
    def lost_documents(self) -> dict[str, list[str]]:
        """Errors of the kinds that lose a document (timeouts, size caps, ...), by kind."""
        return {kind: urls for kind, urls in self.errors.items() if kind in LOST_DOCUMENT_KINDS}

    def error(self, kind: str, url: str) -> None:
        urls = self.errors.setdefault(kind, [])
        if url not in urls:
            urls.append(url)

    def block(self, vendor: str, url: str) -> None:
        label = f"blocked:{vendor}"
        if label not in self.blocked:
            self.blocked.append(label)
        self.error(label, url)

    def finish(self, reason: str, previous_best: int) -> None:
        self.finished_at = utc_now()
        self.finish_reason = reason
        if self.reports_found:
            self.status = "ok"
            self.message = f"{self.reports_found} reports"
        elif self.blocked:
            self.status = "blocked"
            self.message = f"{', '.join(self.blocked)}: no reports reachable"
        elif previous_best:
            self.status = "error"
            self.message = f"no reports found; an earlier crawl found {previous_best}"
        else:
            self.status = "error"
            self.message = "no reports found"
        lost = self.lost_documents
        if lost:
            self.message += "; lost " + ", ".join(f"{kind} {len(urls)}"
                                                  for kind, urls in sorted(lost.items()))
        if reason in CUT_SHORT:
            self.message += f"; {CUT_SHORT[reason]} (the next run resumes)"
        elif reason not in ("finished",):
            self.status = "error" if self.status == "ok" else self.status
            self.message += f" (crawl ended: {reason})"
        # A cut-short crawl is partial even before it met a report: the rest comes next run.
        if (self.status == "ok" and lost) or (reason in CUT_SHORT and not self.blocked):
            self.status = "partial"
        if self.errors.get("layout_changed"):
            self.message += f"; layout changed on {len(self.errors['layout_changed'])} pages"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for optional in ("duration_s", "shard"):
            if data[optional] is None:
                del data[optional]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def write(self, data_dir: Path) -> Path | None:
        """Write the report; None when the disk is full (one line logged: the crawl's stdout
        still carries the report)."""
        folder = Path(data_dir) / "state" / "crawl-reports"
        path = folder / f"{self.portal_id}.json"
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            history = Path(data_dir) / "state" / "crawl-history.jsonl"
            with history.open("a", encoding="utf-8") as f:
                f.write(self.to_json() + "\n")
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            logger.error("disk_full: crawl report of %s not written (%s)", self.portal_id,
                         exc.strerror)
            return None
        return path


def read_report(data_dir: Path, portal_id: str) -> CrawlReport | None:
    path = Path(data_dir) / "state" / "crawl-reports" / f"{portal_id}.json"
    return CrawlReport.from_json(path.read_text(encoding="utf-8")) if path.exists() else None
