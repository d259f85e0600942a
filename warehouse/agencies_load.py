"""Agency identity at load: every report's ``agency_id`` (all reports, each load, so a registry
change applies to reports loaded before it), the ``agencies`` table, and the A1 findings that
say which names were not recognised and why.

Cross-report rules group reports by *identity*: the agency_id where the name was recognised, else
the normalised name (``agency_key``), so an unrecognised body is still checked against itself.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from warehouse.agencies import Agency, AgencyResolver
from warehouse.schema import TABLES


def identity(row: dict) -> str | None:
    """What groups a report with the other years and copies of the same body."""
    return row.get("agency_id") or row.get("agency_key")


def conform(table: pa.Table, name: str) -> pa.Table:
    """``table`` with the columns of the current definition (nulls for columns added since
    it was written), in order: a warehouse written before agency ids still loads."""
    schema = TABLES[name].schema
    for f in schema:
        if f.name not in table.column_names:
            table = table.append_column(f, pa.nulls(table.num_rows, f.type))
    return table.select(schema.names).cast(schema)


def identify(reports: pa.Table, resolver: AgencyResolver) -> tuple[pa.Table, set[str]]:
    """``reports`` with ``agency_id`` resolved again for every row, and the identities whose
    members changed (a registry entry merged or split them): their canonical flags and
    cross-report rules need choosing and running again."""
    rows = reports.select(["agency", "region", "year", "agency_id", "agency_key"]).to_pylist()
    ids, changed = [], set()
    for row in rows:
        found = resolver.resolve(row["agency"], row["region"], row["year"]).agency
        new_id = found.agency_id if found else None
        if new_id != row["agency_id"]:
            changed |= {identity(row), identity({**row, "agency_id": new_id})}
        ids.append(new_id)
    column = reports.schema.get_field_index("agency_id")
    return reports.set_column(column, "agency_id", pa.array(ids, pa.string())), changed - {None}


def agency_rows(reports: pa.Table, resolver: AgencyResolver) -> pa.Table:
    """The ``agencies`` table: each identified body once, with every name it was given, and
    every registry entry (reviewed, whether or not a report names it yet)."""
    found: dict[str, Agency] = dict(resolver.registry.agencies)
    given: dict[str, set[str]] = {a: {*agency.aliases, agency.name} for a, agency in found.items()}
    names = _distinct(reports, ["agency", "region", "year"])
    for row in names:
        agency = resolver.resolve(row["agency"], row["region"], row["year"]).agency
        if agency is None:
            continue
        found.setdefault(agency.agency_id, agency)
        given.setdefault(agency.agency_id, {agency.name}).add(row["agency"])
    rows = [{"agency_id": a.agency_id, "name": a.name, "aliases": sorted(given[a.agency_id]),
             "province": a.province, "prefecture": a.prefecture, "county": a.county,
             "division_code": a.division_code, "level": a.level, "kind": a.kind,
             "parent_id": a.parent_id, "source": a.source}
            for a in sorted(found.values(), key=lambda a: a.agency_id)]
    return pa.Table.from_pylist(rows, schema=TABLES["agencies"].schema)


def _distinct(table: pa.Table, columns: list[str]) -> list[dict]:
    rows = table.select(columns).group_by(columns).aggregate([]).to_pylist()
    return sorted(rows, key=lambda r: tuple((v is None, v) for v in r.values()))


def identity_findings(reports: pa.Table, resolver: AgencyResolver, run_id: str) -> list[dict]:
    """A1 per distinct (name, portal region, year): PASS with the agency_id, or UNCERTAIN with
    the kind of problem (unknown_region, ambiguous_region, unknown_form) as the subject."""
    readable = reports.filter(pc.fill_null(pc.is_in(reports["status"], pa.array(
        ["ok", "quality_failures"])), False))
    findings = []
    known = [r for r in _distinct(readable, ["agency", "region", "year"]) if r["agency"]]
    for row in known:  # (no name at all: R6 says so)
        name, region, year = row["agency"], row["region"], row["year"]
        result = resolver.resolve(name, region, year)
        scope = f"agency:{name}" + (f"@{region}" if region else "") + f"/{year}"
        findings.append({
            "run_id": run_id, "report_id": None, "scope": scope, "rule": "A1",
            "subject": result.kind, "status": "PASS" if result.agency else "UNCERTAIN",
            "message": (f"{name} is {result.agency.agency_id} ({result.agency.name})"
                        if result.agency else result.message),
            "expected": None, "observed": None, "cells": []})
    return findings
