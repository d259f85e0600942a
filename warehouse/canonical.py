"""Which report speaks for an agency-year when several documents carry it (the HTML page and its
PDF attachment, a repost, a correction, a newer extractor version).

The rule, in order: a report whose checks all hold beats one with failures; then more cells with
a number; then the newer publication date; then the later load. Unreadable reports and reports
without an identified agency or year are never canonical.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
READABLE = ("ok", "quality_failures")


def _rank(row: dict) -> tuple:
    published = row["publish_date"] or date(1970, 1, 1)
    return (row["checks_failed"] == 0, row["cells_found"] or 0, published,
            row["loaded_at"] or _EPOCH, row["report_id"])


def choose_canonical(reports: pa.Table, agency_keys: set[str] | None = None) -> pa.Array:
    """The ``canonical`` column of ``reports`` with the rule applied again to the agencies in
    ``agency_keys`` (all agencies if None); other rows keep their flag."""
    if agency_keys is None:
        chosen = pa.array([True] * reports.num_rows)
    else:
        chosen = pc.is_in(reports["agency_key"], pa.array(sorted(agency_keys), pa.string()))
        chosen = pc.fill_null(chosen, False)
    positions = pc.indices_nonzero(chosen).to_pylist()
    rows = reports.take(positions).select(
        ["report_id", "agency_key", "year", "status", "checks_failed", "cells_found",
         "publish_date", "loaded_at"]).to_pylist()
    members: dict[tuple[str, int], list[int]] = {}
    for n, row in enumerate(rows):
        if row["status"] in READABLE and row["agency_key"] and row["year"]:
            members.setdefault((row["agency_key"], row["year"]), []).append(n)
    winners = {positions[max(group, key=lambda n: _rank(rows[n]))] for group in members.values()}
    flags = reports["canonical"].to_pylist()
    for position in positions:
        flags[position] = position in winners
    return pa.array(flags, pa.bool_())
