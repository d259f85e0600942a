"""Agency identity at load: every report's ``agency_id`` (all reports, each load, so a registry
change applies to reports loaded before it), the ``agencies`` table, and the A1 findings that
say which names were not recognised and why.

Cross-report rules group reports by *identity*: the agency_id where the name was recognised, else
the normalised name (``agency_key``), so an unrecognised body is still checked against itself.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from extract.model import CheckResult, Finding, Status
from warehouse import agencies, agencies_divisions
from warehouse.agencies import Agency, AgencyResolver, Registry
from warehouse.agencies_divisions import divisions
from warehouse.clustered import read_holding
from warehouse.schema import TABLES


def identity(row: dict) -> str | None:
    """What groups a report with the other years and copies of the same body."""
    return row.get("agency_id") or row.get("agency_key")


def agency_of(reports: pa.Table) -> pa.ChunkedArray:
    """``identity`` of each row of ``reports`` (what ``reports.agency_of`` stores)."""
    return pc.coalesce(reports["agency_id"], reports["agency_key"])


def conform(table: pa.Table, name: str) -> pa.Table:
    """``table`` with the columns of the current definition (nulls for columns added since
    it was written), in order: a warehouse written before agency ids still loads."""
    schema = TABLES[name].schema
    for f in schema:
        if f.name not in table.column_names:
            table = table.append_column(f, pa.nulls(table.num_rows, f.type))
    return table.select(schema.names).cast(schema)


IDENTITY_DIGEST = "nianbao_identity_digest"  # commit metadata of the agencies table
REPORTS_VERSION = "nianbao_reports_version"  # the reports version those ids were written to


def identity_digest(registry: Registry) -> str:
    """What agency ids depend on: the registry's content and the code and division data that
    read names. Unchanged since the published load, the reports loaded before keep theirs."""
    text = repr((sorted(registry.agencies.items()),
                 sorted((name, sorted(aliases, key=repr))
                        for name, aliases in registry.aliases.items())))
    digest = hashlib.sha256(text.encode())
    for module in (agencies, agencies_divisions):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(repr(len(divisions().by_code)).encode())
    return digest.hexdigest()[:16]


def identity_metadata(registry: Registry, reports_version: int | None) -> dict[str, str]:
    """The commit metadata of an ``agencies`` write: the ids of ``reports_version`` of the
    reports table were resolved with this registry and these rules."""
    return {IDENTITY_DIGEST: identity_digest(registry), REPORTS_VERSION: str(reports_version)}


def identify(reports: pa.Table, resolver: AgencyResolver, start: int = 0
             ) -> tuple[pa.Table, set[str]]:
    """``reports`` with ``agency_id`` resolved again for every row from ``start`` (the rows
    before keep theirs), and the identities whose members changed (a registry entry merged or
    split them): their canonical flags and cross-report rules need choosing and running
    again."""
    if start:
        after, changed = identify(reports.slice(start), resolver)
        return _with_agency_of(pa.concat_tables([reports.slice(0, start), after])), changed
    rows = reports.select(["agency", "region", "year", "agency_id", "agency_key"]).to_pylist()
    ids, changed = [], set()
    for row in rows:
        found = resolver.resolve(row["agency"], row["region"], row["year"]).agency
        new_id = found.agency_id if found else None
        if new_id != row["agency_id"]:
            changed |= {identity(row), identity({**row, "agency_id": new_id})}
        ids.append(new_id)
    reports = reports.set_column(reports.schema.get_field_index("agency_id"), "agency_id",
                                 pa.array(ids, pa.string()))
    return _with_agency_of(reports), changed - {None}


def _with_agency_of(reports: pa.Table) -> pa.Table:
    """``reports`` with ``agency_of`` (``identity``) set on every row (a table read before the
    column existed has it null)."""
    if "agency_of" not in reports.column_names:
        return reports
    return reports.set_column(reports.schema.get_field_index("agency_of"), "agency_of",
                              agency_of(reports))


def agency_rows(reports: pa.Table, resolver: AgencyResolver,
                previous: pa.Table | None = None) -> pa.Table:
    """The ``agencies`` table: each identified body once, with every name it was given, and
    every registry entry (reviewed, whether or not a report names it yet). ``previous``: the
    table as published, for the same registry: ``reports`` are then only the new ones."""
    found: dict[str, Agency] = dict(resolver.registry.agencies)
    given: dict[str, set[str]] = {a: {*agency.aliases, agency.name} for a, agency in found.items()}
    kept = {} if previous is None else {r["agency_id"]: r for r in previous.to_pylist()}
    for agency_id, row in kept.items():
        given.setdefault(agency_id, set()).update(row["aliases"] or ())
    names = _distinct(reports, ["agency", "region", "year"])
    for row in names:
        agency = resolver.resolve(row["agency"], row["region"], row["year"]).agency
        if agency is None:
            continue
        found.setdefault(agency.agency_id, agency)
        given.setdefault(agency.agency_id, {agency.name}).add(row["agency"])
    rows = {a.agency_id: {
        "agency_id": a.agency_id, "name": a.name, "aliases": sorted(given[a.agency_id]),
        "province": a.province, "prefecture": a.prefecture, "county": a.county,
        "division_code": a.division_code, "level": a.level, "kind": a.kind,
        "parent_id": a.parent_id, "source": a.source} for a in found.values()}
    for agency_id, row in kept.items():  # bodies only earlier reports named
        rows.setdefault(agency_id, {**row, "aliases": sorted(given[agency_id])})
    rows = [rows[a] for a in sorted(rows)]
    return pa.Table.from_pylist(rows, schema=TABLES["agencies"].schema)


def write_additions(tx, reports: pa.Table, resolver: AgencyResolver,
                    metadata: dict[str, str]) -> tuple[pa.Table, pa.Table] | None:
    """For the registry and rules of the published ``agencies``: the bodies the new
    ``reports`` name that it lacks, or knows under fewer names, written as new rows; only the
    files holding the rows they replace are rewritten, and only the files that can hold those
    bodies are read (``clustered.py``). Returns (the published rows read, as written), or None
    when its files cannot be rewritten one by one (``agency_rows`` then)."""
    found: dict[str, tuple[Agency, set[str]]] = {}
    for row in _distinct(reports, ["agency", "region", "year"]):
        agency = resolver.resolve(row["agency"], row["region"], row["year"]).agency
        if agency is not None:
            found.setdefault(agency.agency_id, (agency, set()))[1].add(row["agency"])
    by_file = (read_holding(tx.warehouse, "agencies", set(found))
               or tx.warehouse.read_by_file("agencies"))
    if by_file is None:
        return None
    previous, files = by_file
    named = pc.is_in(previous["agency_id"], pa.array(sorted(found), pa.string()))
    known = {r["agency_id"]: r for r in previous.filter(named).to_pylist()}
    rows = []
    for agency_id, (agency, given) in sorted(found.items()):
        if agency_id not in known:
            rows.append({"agency_id": agency_id, "name": agency.name,
                         "aliases": sorted({agency.name, *given}),
                         **{c: getattr(agency, c) for c in (
                             "province", "prefecture", "county", "division_code", "level",
                             "kind", "parent_id", "source")}})
        elif not given <= set(known[agency_id]["aliases"] or ()):
            rows.append({**known[agency_id],
                         "aliases": sorted(given | set(known[agency_id]["aliases"] or ()))})
    added = pa.Table.from_pylist(rows, schema=TABLES["agencies"].schema)
    replaced = pc.is_in(previous["agency_id"], added["agency_id"])
    rewrite, chunks, start = [], [], 0
    for path, count in files:
        if pc.any(replaced.slice(start, count)).as_py():
            rewrite.append(path)
            chunks.append(previous.slice(start, count).filter(
                pc.invert(replaced.slice(start, count))))
        start += count
    tx.replace_files("agencies", rewrite, [*chunks, added], metadata=metadata)
    return previous, pa.concat_tables([previous.filter(pc.invert(replaced)), added])


def _distinct(table: pa.Table, columns: list[str]) -> list[dict]:
    rows = table.select(columns).group_by(columns).aggregate([]).to_pylist()
    return sorted(rows, key=lambda r: tuple((v is None, v) for v in r.values()))


def identity_findings(reports: pa.Table, resolver: AgencyResolver) -> list[Finding]:
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
        findings.append(Finding(CheckResult(
            "A1", Status.PASS if result.agency else Status.UNCERTAIN, result.kind,
            (f"{name} is {result.agency.agency_id} ({result.agency.name})"
             if result.agency else result.message)), scope))
    return findings
