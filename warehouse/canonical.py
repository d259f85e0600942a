"""Which report speaks for an agency-year when several documents carry it (the HTML page and its
PDF attachment, a repost, a correction, a newer extractor version).

The rule, in order: a report whose checks all hold beats one with failures; then more cells with
a number; then the newer publication date; then the later load. Unreadable reports and reports
without an identified agency or year are never canonical. An agency is its ``agency_id`` where the
name was recognised (two titles of one body are one agency), else its normalised name.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.compute as pc

from warehouse.agencies_load import agency_of

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
READABLE = ("ok", "quality_failures")


def _rank(row: dict) -> tuple:
    published = row["publish_date"] or date(1970, 1, 1)
    return (row["checks_failed"] == 0, row["cells_found"] or 0, published,
            row["loaded_at"] or _EPOCH, row["report_id"])


def choose_canonical(reports: pa.Table, agencies: set[str] | None = None) -> pa.Array:
    """The ``canonical`` column of ``reports`` with the rule applied again to the agencies
    (agency_id, else agency_key) in ``agencies`` (all agencies if None); other rows keep their
    flag."""
    agency = agency_of(reports)
    if agencies is None:
        chosen = pa.array([True] * reports.num_rows)
    else:
        chosen = pc.fill_null(pc.is_in(agency, pa.array(sorted(agencies), pa.string())), False)
    positions = pc.indices_nonzero(chosen).to_pylist()
    if not positions:
        return reports["canonical"].combine_chunks()
    rows = reports.take(positions).select(
        ["report_id", "year", "status", "checks_failed", "cells_found", "publish_date",
         "loaded_at"]).append_column("agency", agency.take(positions)).to_pylist()
    members: dict[tuple[str, int], list[int]] = {}
    for n, row in enumerate(rows):
        if row["status"] in READABLE and row["agency"] and row["year"]:
            members.setdefault((row["agency"], row["year"]), []).append(n)
    winners = {positions[max(group, key=lambda n: _rank(rows[n]))] for group in members.values()}
    flags = reports["canonical"].to_pylist()
    for position in positions:
        flags[position] = position in winners
    return pa.array(flags, pa.bool_())
