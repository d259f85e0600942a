"""The caller's facts about a run, for its row in the ``runs`` table (warehouse/load.py adds what
the load itself counted: reports loaded, unreadable, cells, quality findings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RunRecord:
    kind: str = "load"  # nightly | rebuild | load
    started_at: datetime | None = None  # None: when the load started
    portals: int | None = None  # crawled this run (None: the run crawled nothing)
    portals_failed: int | None = None
    portals_blocked: int | None = None
    documents_new: int | None = None
    message: str | None = None
