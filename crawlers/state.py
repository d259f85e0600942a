"""Crawl state kept between runs: HTTP validators per URL (for conditional requests) and each
portal's history of reports found (so a portal that goes quiet is an error, not a green run)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS validators (
    url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, sha256 TEXT NOT NULL,
    content_type TEXT, fetched_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    portal_id TEXT NOT NULL, finished_at TEXT NOT NULL, reports_found INTEGER NOT NULL,
    status TEXT NOT NULL
);
"""


@dataclass
class Validators:
    etag: str | None
    last_modified: str | None
    sha256: str
    content_type: str | None
    fetched_at: str | None = None  # ISO 8601 UTC of the last fetch that brought the bytes


class CrawlState:
    def __init__(self, data_dir: Path) -> None:
        path = Path(data_dir) / "state" / "crawl.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Each write is its own commit (a killed crawl loses none), without an fsync per commit:
        # WAL at NORMAL survives the process dying; only a power cut may lose the last ones.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def validators(self, url: str) -> Validators | None:
        row = self._db.execute("SELECT etag, last_modified, sha256, content_type, fetched_at "
                               "FROM validators WHERE url = ?", (url,)).fetchone()
        return Validators(*row) if row else None

    def remember(self, url: str, validators: Validators, fetched_at: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO validators VALUES (?, ?, ?, ?, ?, ?)",
                         (url, validators.etag, validators.last_modified, validators.sha256,
                          validators.content_type, fetched_at))

    def best_previous_count(self, portal_id: str) -> int:
        """The most reports any earlier crawl of this portal found (0 if never crawled)."""
        row = self._db.execute("SELECT MAX(reports_found) FROM history WHERE portal_id = ?",
                               (portal_id,)).fetchone()
        return int(row[0] or 0)

    def record_crawl(self, portal_id: str, finished_at: str, reports_found: int,
                     status: str) -> None:
        self._db.execute("INSERT INTO history VALUES (?, ?, ?, ?)",
                         (portal_id, finished_at, reports_found, status))

    def close(self) -> None:
        self._db.close()
