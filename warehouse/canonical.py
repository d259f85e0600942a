"""Which report speaks for an agency-year when several documents carry it (the HTML page and its
PDF attachment, a repost, a correction, a newer extractor version).

The rule, in order: a report whose checks all hold beats one with failures; then more cells with
a number; then the newer publication date; then the later load. Unreadable reports and reports
without an identified agency or year are never canonical.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pyarrow as pa

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
READABLE = ("ok", "quality_failures")


def _rank(row: dict) -> tuple:
    published = row["publish_date"] or date(1970, 1, 1)
    return (row["checks_failed"] == 0, row["cells_found"] or 0, published,
            row["loaded_at"] or _EPOCH, row["report_id"])


def groups(reports: pa.Table) -> dict[tuple[str, int], list[int]]:
    """Row indexes of readable, identified reports by (agency_key, year)."""
    found: dict[tuple[str, int], list[int]] = {}
    columns = reports.select(["agency_key", "year", "status"]).to_pylist()
    for n, row in enumerate(columns):
        if row["status"] in READABLE and row["agency_key"] and row["year"]:
            found.setdefault((row["agency_key"], row["year"]), []).append(n)
    return found


def choose_canonical(reports: pa.Table) -> list[bool]:
    """One flag per row of ``reports``: True for the canonical report of its agency-year."""
    rows = reports.select(["report_id", "checks_failed", "cells_found", "publish_date",
                           "loaded_at"]).to_pylist()
    flags = [False] * reports.num_rows
    for members in groups(reports).values():
        flags[max(members, key=lambda n: _rank(rows[n]))] = True
    return flags
