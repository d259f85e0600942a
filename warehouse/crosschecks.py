"""Cross-report rules over the warehouse (registered in extract/rules.py; docs/design.md,
Quality rules): each gives Findings holding the same CheckResult as the report rules R1-R6, which
``warehouse/quality.py`` turns into quality rows.

A load checks the agencies it touched (every year of each), not the whole warehouse again: the
``quality`` view keeps, per rule and scope, the findings of the latest run that checked it. An
agency is its ``agency_id`` (``agencies.py``: one body under two titles is one agency), or its
normalised name where the name was not recognised; scopes name it the same way. W4 checks
again, of those, only the scopes the load changed, each whole (``duplicates.py``).

What each rule checks is its registry entry; how, the function here its ``computed_by`` names.
W3 identifies an expected name like a report's, inside the portal's region.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from extract.model import CheckResult, Finding, Status
from extract.schema import REQUEST_COLUMNS
from warehouse import removed
from warehouse.agencies import AgencyResolver
from warehouse.corrections import agency_key as key_of
from warehouse.duplicates import cells_query, pairs
from warehouse.views import quote, register_tables
from warehouse.wide import Change, files_holding

GOVERNMENT_SUFFIXES = ("人民政府", "政府", "管委会", "管理委员会")


def _finding(rule: str, scope: str, subject: str, status: Status, message: str, *,
             report_id: str | None = None, expected=None, observed=None,
             cells: list[str] | None = None) -> Finding:
    return Finding(CheckResult(rule, status, subject, message, cells or [], expected, observed),
                   scope, report_id)


def deadline(agency: str, year: int) -> date:
    """The legal publication deadline of an agency's report for ``year``."""
    is_government = agency.endswith(GOVERNMENT_SUFFIXES)
    return date(year + 1, 3, 31) if is_government else date(year + 1, 1, 31)


def _connect(tx, tables: set[str]) -> duckdb.DuckDBPyConnection:
    """A connection with views of ``tables`` (of ``reports`` and ``cells``) as ``tx`` has
    them: only those a load's rules read (each view lists its table's files)."""
    con = duckdb.connect()
    con.execute("SET autoinstall_known_extensions = false; SET autoload_known_extensions = false")
    register_tables(con, tx, only=tables)
    for name in tables:  # (reports.agency_of: what the rules group by, see the module docstring)
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM _{name}")
    return con


def continuity(con, tx, agencies: set[str], change: Change | None = None) -> list[Finding]:
    """W1, from ``requests_wide`` alone (a row per canonical report, with its agency and
    year): only the files that can hold the touched ``agencies`` are read (their partitions',
    by the agency range each file records), never ``reports`` or the long ``cells``. Given the
    load's ``change``, the published files (a load only adds files, so no table is opened
    again at the version it wrote) without the rows it dropped, and the rows it added."""
    source = tx if change is None else tx.warehouse
    paths = files_holding(source, "requests_wide", agencies)
    columns = sorted(REQUEST_COLUMNS)
    needed = ", ".join(["report_id", "agency_of", "year", *(
        f'"{row}__{c}"' for row in ("carried_over", "carried_forward") for c in columns)])
    # (the agencies as constants: DuckDB skips the row groups whose agency_of range holds
    # none of them; the files are sorted by it)
    wanted = f"agency_of IN ({', '.join(quote(agency) for agency in sorted(agencies))})"
    parts = []
    if paths:
        gone = (removed.read(tx) if change is None else change.published_removed)
        stored = removed.live_sql(con, "requests_wide", paths, gone["requests_wide"],
                                  "hive_partitioning = false")
        dropped = (f" AND report_id NOT IN ({', '.join(map(quote, sorted(change.dropped)))})"
                   if change is not None and change.dropped else "")
        parts.append(f"SELECT {needed} FROM ({stored}) WHERE {wanted}{dropped}")
    if change is not None:
        con.register("w1_added", change.added["requests_wide"])
        parts.append(f"SELECT {needed} FROM w1_added WHERE {wanted}")
    if not parts:
        return []
    live = " UNION ALL ".join(parts)
    over = ", ".join(f'cw."carried_over__{c}"' for c in columns)
    forward = ", ".join(f'pw."carried_forward__{c}"' for c in columns)
    pairs = con.execute(f"""
        WITH canon AS ({live})
        SELECT cw.report_id, cw.agency_of, cw.year, [{over}], [{forward}]
        FROM canon cw JOIN canon pw
        ON cw.agency_of = pw.agency_of AND pw.year = cw.year - 1
        ORDER BY cw.agency_of, cw.year""").fetchall()
    rows = [(rid, agency_of, year, col, o, f, None, None)
            for rid, agency_of, year, overs, forwards in pairs
            for col, o, f in zip(columns, overs, forwards, strict=True)]
    findings = []
    for rid, agency_of, year, col, over, forward, _, _ in rows:
        if col is None:
            continue
        scope, subject = f"{agency_of}/{year}", f"requests/carried_over/{col}"
        cells = [f"{year}:requests/carried_over/{col}",
                 f"{year - 1}:requests/carried_forward/{col}"]
        if over is None or forward is None:
            status, message = Status.UNCERTAIN, ("carried_over or last year's carried_forward "
                                                 "is blank")
        elif over == forward:
            status, message = Status.PASS, f"carried over {over:g} = carried forward {forward:g}"
        else:
            status, message = Status.FAIL, (f"carried over {over:g} ≠ last year's carried "
                                            f"forward {forward:g}")
        findings.append(_finding("W1", scope, subject, status, message, report_id=rid,
                                 expected=forward, observed=over, cells=cells))
    return findings


def timeliness(reports: pa.Table) -> list[Finding]:
    """W2 for the canonical ones of ``reports`` (the touched agencies' reports, as the load
    leaves them: already in memory, so no scan of ``reports``)."""
    canonical = reports.filter(pc.fill_null(reports["canonical"], False)).sort_by(
        [("agency_of", "ascending"), ("year", "ascending")])
    findings = []
    for rid, agency, agency_of, year, published in zip(*(
            canonical[c].to_pylist() for c in ("report_id", "agency", "agency_of", "year",
                                               "publish_date")), strict=True):
        due = deadline(agency, year)
        scope = f"{agency_of}/{year}"
        if published is None:
            findings.append(_finding("W2", scope, "publish_date", Status.UNCERTAIN,
                                     f"publication date unknown (due {due})", report_id=rid))
            continue
        late = (published - due).days
        status = Status.FAIL if late > 0 else Status.PASS
        message = f"published {published}, due {due}" + (f": {late} days late" if late > 0 else "")
        findings.append(_finding("W2", scope, "publish_date", status, message,
                                 report_id=rid, expected=0, observed=max(late, 0)))
    return findings


def missing(con, expected: dict[str, list[str]], resolver: AgencyResolver) -> list[Finding]:
    findings = []
    if not expected:
        return findings
    present = {(k, y) for k, y in con.execute(
        "SELECT agency_of, year FROM reports WHERE canonical").fetchall()}
    for portal_id, agencies in sorted(expected.items()):
        years = [y for (y,) in con.execute(
            "SELECT DISTINCT year FROM reports WHERE portal_id = ? AND year IS NOT NULL "
            "ORDER BY year", [portal_id]).fetchall()]
        region = con.execute("SELECT any_value(region) FROM reports WHERE portal_id = ?",
                             [portal_id]).fetchone()[0]
        for agency in agencies:
            for year in years:
                known = resolver.resolve(agency, region, year).agency
                found = (known.agency_id if known else key_of(agency), year) in present
                findings.append(_finding(
                    "W3", f"{portal_id}/{year}", agency, Status.PASS if found else Status.FAIL,
                    f"{agency} {year}: " + (
                        "report present" if found else
                        f"no report, though {portal_id} published reports for {year}")))
    return findings


def conflicts(con, members: pa.Table) -> list[Finding]:
    """W4 over ``members``, the reports of the scopes checked again (``duplicates.py``)."""
    compared = pairs(members)
    if not compared:
        return []
    ids = sorted({rid for pair in compared for rid in pair[:2]})
    years = sorted({pair[3] for pair in compared})
    cells = {}  # report_id -> {key: value}, only the reports compared
    for rid, key, value in con.execute(*cells_query(ids, years)).fetchall():
        cells.setdefault(rid, {})[key] = value
    findings = []
    for other, canon, agency_of, year in compared:
        mine, theirs = cells.get(other, {}), cells.get(canon, {})
        shared = sorted(set(mine) & set(theirs))
        differ = [k for k in shared if mine[k] != theirs[k]]
        message = (f"{len(differ)} of {len(shared)} shared cells differ from the canonical report"
                   if differ else f"all {len(shared)} shared cells agree with the canonical report")
        findings.append(_finding(
            "W4", f"{agency_of}/{year}", "duplicate", Status.FAIL if differ else Status.PASS,
            message, report_id=other, expected=theirs[differ[0]] if differ else None,
            observed=mine[differ[0]] if differ else None, cells=differ[:50]))
    return findings


def cross_report_findings(tx, agencies: set[str],
                          expected_agencies: dict[str, list[str]] | None = None,
                          resolver: AgencyResolver | None = None,
                          w4_members: pa.Table | None = None,
                          reports: pa.Table | None = None,
                          wide_change: Change | None = None) -> list[Finding]:
    """The cross-report rules for ``agencies`` (agency_id, else agency_key; every year of
    each), and W3 for every portal expectation, over the warehouse as this load leaves it.
    ``w4_members``: the reports of the scopes W4 checks again (``duplicates.members_of``;
    every scope of the agencies if None); ``reports``: every report of the agencies, as the
    load leaves them (read from the warehouse if None); ``wide_change``: what the load did to
    the wide tables (``wide.update``), for W1."""
    # (W3 and reading the agencies' reports need ``reports``; W4 reads ``cells``)
    con = _connect(tx, {"cells"} | ({"reports"} if expected_agencies or reports is None
                                    else set()))
    try:
        con.register("touched", pa.table({"agency": pa.array(sorted(agencies), pa.string())}))
        if reports is None:
            reports = con.sql("SELECT * FROM reports WHERE agency_of IN "
                              "(SELECT agency FROM touched)").to_arrow_table()
        return (continuity(con, tx, agencies, wide_change) + timeliness(reports)
                + missing(con, expected_agencies or {}, resolver or AgencyResolver())
                + conflicts(con, reports if w4_members is None else w4_members))
    finally:
        con.close()
