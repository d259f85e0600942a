"""Which duplicate-report scopes (W4) a load must check again, the pairs of reports compared
in them, and the query that reads only the cells of those reports.

W4 compares, per scope ``{agency_of}/{year}``, each readable non-canonical report with the
canonical one. Its findings depend only on which reports the scope holds, their canonical flags
and statuses, and their cells, and a loaded report's cells and status never change. So a scope
whose members and flags a load left as they were would give the findings an earlier run already
recorded, and the ``quality`` view keeps, per rule and scope, the latest run's findings: only the
scopes holding a new report, or a report whose canonical flag or agency_id this load changed
(under the identity it had and the one it has), are checked again, each one whole.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from warehouse.agencies_load import agency_of, identity
from warehouse.canonical import READABLE
from warehouse.wide import differ

Scope = tuple[str, int]  # (agency_of: agency_id, else agency_key; year)
MEMBER_COLUMNS = ["report_id", "agency_id", "agency_key", "year", "canonical", "status"]


def _scopes(reports: pa.Table) -> set[Scope]:
    return {(agency, year) for agency, year in zip(agency_of(reports).to_pylist(),
                                                    reports["year"].to_pylist(), strict=True)
            if agency is not None and year is not None}


def changed_scopes(published: pa.Table, reports: pa.Table) -> set[Scope]:
    """The scopes whose W4 findings may differ from the last ones recorded: ``reports`` is
    ``published`` (the reports as the last load left them, in the same order) with this load's
    new reports appended and canonical flags and agency ids chosen again."""
    old = published.num_rows
    moved = pc.or_(differ(published["canonical"], reports["canonical"].slice(0, old)),
                   differ(published["agency_id"], reports["agency_id"].slice(0, old)))
    positions = pc.indices_nonzero(moved)
    columns = ["agency_id", "agency_key", "year"]
    return (_scopes(reports.slice(old).select(columns))
            | _scopes(reports.select(columns).take(positions))      # as they are now
            | _scopes(published.select(columns).take(positions)))   # and as they were


def members_of(reports: pa.Table, scopes: set[Scope]) -> pa.Table:
    """The rows of ``reports`` (``MEMBER_COLUMNS`` at least) in ``scopes``."""
    keep = [(agency, year) in scopes for agency, year in zip(
        agency_of(reports).to_pylist(), reports["year"].to_pylist(), strict=True)]
    return reports.select(MEMBER_COLUMNS).filter(pa.array(keep, pa.bool_()))


def pairs(members: pa.Table) -> list[tuple[str, str, str, int]]:
    """(report, the canonical report, agency_of, year) for every readable non-canonical report
    of ``members`` whose scope has a canonical one; by scope, then report."""
    canonical: dict[Scope, list[str]] = {}
    others: list[tuple[str, int, str]] = []
    for row in members.select(MEMBER_COLUMNS).to_pylist():
        agency, year = identity(row), row["year"]
        if agency is None or year is None:
            continue
        if row["canonical"]:
            canonical.setdefault((agency, year), []).append(row["report_id"])
        elif row["canonical"] is False and row["status"] in READABLE:
            others.append((agency, year, row["report_id"]))
    return [(rid, canon, agency_of, year) for agency_of, year, rid in sorted(others)
            for canon in canonical.get((agency_of, year), [])]


def cells_query(report_ids: list[str], years: list[int]) -> tuple[str, list]:
    """SQL and parameters for the cells (report_id, table/row/col, value) of ``report_ids``,
    read from the ``years`` partitions only. The years are literals, which DuckDB prunes the
    other partitions with while it plans (as a parameter list it cannot: measured ~5x slower
    at 100k reports); the ids stay a parameter list, which DuckDB filters the scan with (as
    literals it evaluates an OR per row: ~3x slower)."""
    return ("SELECT report_id, \"table\" || '/' || \"row\" || '/' || col, value FROM cells "
            f"WHERE year IN ({', '.join(str(int(year)) for year in years)}) "
            "AND report_id IN (SELECT unnest(?::VARCHAR[]))", [report_ids])
