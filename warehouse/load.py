"""Reports -> warehouse rows, loaded idempotently in one published snapshot.

A report is identified by its document's sha256 and the extractor (name, version): loading the
same one twice adds nothing; a new document for the same agency-year, or a new extractor version,
adds a new report and the canonical flag moves by the rule in ``canonical.py`` (the old report
stays, flagged non-canonical).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from extract.model import Report, Status
from warehouse import wide
from warehouse.agencies import AgencyResolver, Registry
from warehouse.agencies_load import (
    IDENTITY_DIGEST,
    REPORTS_VERSION,
    agency_of,
    agency_rows,
    conform,
    identify,
    identity,
    identity_digest,
    identity_findings,
    identity_metadata,
    write_additions,
)
from warehouse.canonical import choose_canonical
from warehouse.clustered import read_holding
from warehouse.corrections import Correction, agency_key, index, load_corrections
from warehouse.crosschecks import cross_report_findings
from warehouse.duplicates import changed_scopes, members_of
from warehouse.quality import quality_rows, report_findings
from warehouse.runs import RunRecord
from warehouse.schema import TABLES
from warehouse.store import Warehouse


@dataclass
class DocumentMeta:
    """What the crawl knows about a document (from the manifest)."""

    source_url: str | None = None
    page_url: str | None = None
    publish_date: str | None = None
    portal_id: str | None = None
    region: str | None = None


@dataclass
class LoadResult:
    run_id: str
    reports_loaded: int = 0
    reports_unchanged: int = 0
    reports_unreadable: int = 0
    cells_loaded: int = 0
    quality_fail: int = 0
    quality_uncertain: int = 0
    findings: list[dict] = field(default_factory=list)  # this run's FAIL/UNCERTAIN rows


# What a load reads of the published reports while the registry and rules are unchanged: what
# the canonical choice, agency ids, the wide rows and the rules need (not the sha256 and such).
LOAD_COLUMNS = [name for name in TABLES["reports"].schema.names if name not in (
    "document_sha256", "page_url", "extractor", "extractor_version", "error", "run_id")]


def new_run_id() -> str:
    """Run ids sort by start time (to the microsecond), then by a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ-") + uuid.uuid4().hex[:6]


def report_id(report: Report) -> str:
    """The report's id: its document, and the extractor name and version that read it (the
    version moves with every module that reads a document, see extract/version.py)."""
    text = f"{report.sha256}:{report.extractor}:{report.extractor_version}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _status(report: Report) -> str:
    if report.error:
        return "not_a_report" if report.error_code == "not_a_report" else "unreadable"
    return "quality_failures" if any(c.status is Status.FAIL for c in report.checks) else "ok"


def report_row(report: Report, meta: DocumentMeta, run_id: str, now: datetime) -> dict:
    return {
        "report_id": report_id(report), "document_sha256": report.sha256,
        "agency": report.agency, "agency_key": agency_key(report.agency), "agency_id": None,
        "agency_of": None,  # (set with agency_id)
        "region": meta.region,
        "year": report.year, "template_disclosure": report.templates.get("disclosure"),
        "template_requests": report.templates.get("requests"), "format": report.format,
        "source_url": meta.source_url, "page_url": meta.page_url,
        "publish_date": _date(meta.publish_date), "portal_id": meta.portal_id,
        "extractor": report.extractor, "extractor_version": report.extractor_version,
        "status": _status(report), "error": report.error,
        "cells_found": sum(1 for c in report.cells.values() if c.value is not None),
        "checks_failed": sum(1 for c in report.checks if c.status is Status.FAIL),
        "canonical": False, "loaded_at": now, "run_id": run_id,
    }


def cell_rows(report: Report, rid: str, corrections: dict[str, Correction]) -> list[dict]:
    rows = []
    for key, cell in report.cells.items():
        table, row, col = key.split("/")
        fix = corrections.get(key)
        rows.append({
            "report_id": rid, "year": report.year, "table": table, "row": row, "col": col,
            "value": fix.value if fix else cell.value, "raw": cell.raw, "page": cell.page,
            "location": f"table {cell.table_index}: {cell.row_label}",
            "corrected": fix is not None, "original_value": cell.value if fix else None,
            "ocr_confidence": cell.ocr_confidence,
        })
    return rows


CELL_CHUNK = 50_000


def _table(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=TABLES[name].schema)


def load_reports(warehouse: Warehouse, reports: list[Report],
                 metas: dict[str, DocumentMeta] | None = None, *, run_id: str | None = None,
                 corrections: list[Correction] | None = None,
                 corrections_path: Path | None = None,
                 expected_agencies: dict[str, list[str]] | None = None,
                 documents: list[dict] | None = None,
                 run: RunRecord | None = None,
                 agency_registry: Registry | None = None) -> LoadResult:
    """Load ``reports`` (idempotent) and run the cross-report checks, as one published snapshot.

    ``documents`` are crawl manifest rows (dicts) for the ``documents`` table; rows already
    loaded (same sha256, url and fetch time) are skipped. ``run`` adds the caller's facts to
    this run's row in ``runs`` (kind, started_at, portals, portals_failed, portals_blocked,
    documents_new, message). ``agency_registry`` replaces ``warehouse/agencies.yaml``.
    """
    metas = metas or {}
    run_id = run_id or new_run_id()
    if corrections is None:
        corrections = load_corrections(corrections_path) if corrections_path else load_corrections()
    by_agency_year = index(corrections)
    resolver = AgencyResolver(agency_registry)
    result = LoadResult(run_id)
    now = datetime.now(UTC)
    with warehouse.transaction(run_id) as tx:
        # The same registry and rules as the published load: only new reports need an id, and
        # only the columns the canonical choice, the wide rows and the rules read are read.
        digest = identity_digest(resolver.registry)
        recorded = warehouse.commit_metadata("agencies")  # (and reports as that load left it)
        same = (recorded.get(IDENTITY_DIGEST) == digest and recorded.get(REPORTS_VERSION)
                == str(warehouse.published().get("reports")))
        published, files = _published_reports(tx, same, reports, metas, resolver)
        ids = [report_id(report) for report in reports]
        known = set(pc.filter(pa.array(ids, pa.string()), pc.is_in(
            pa.array(ids, pa.string()), published["report_id"])).to_pylist())
        new_reports, cells, quality = [], [], []
        cell_tables: list[pa.Table] = []  # Arrow every CELL_CHUNK rows (a row dict is ~1 KB)
        for report, rid in zip(reports, ids, strict=True):
            if rid in known:
                result.reports_unchanged += 1
                continue
            known.add(rid)
            row = report_row(report, metas.get(report.sha256, DocumentMeta()), run_id, now)
            new_reports.append(row)
            result.reports_unreadable += row["status"] == "unreadable"
            fixes = by_agency_year.get((row["agency_key"], report.year), {})
            cells.extend(cell_rows(report, rid, fixes))
            if len(cells) >= CELL_CHUNK:
                cell_tables.append(_table("cells", cells))
                cells = []
            quality.extend(quality_rows(report_findings(report, rid), run_id))
        result.reports_loaded = sum(1 for r in new_reports
                                    if r["status"] in ("ok", "quality_failures"))
        new_cells = pa.concat_tables([*cell_tables, _table("cells", cells)])
        del cell_tables, cells
        result.cells_loaded = new_cells.num_rows
        tx.append("documents", _new_documents(warehouse, documents or []))
        tx.append("cells", new_cells)
        tx.append("quality", _table("quality", quality))
        reports_table, touched = _reports_with_canonical(
            published, new_reports, resolver, published.num_rows if same else 0)
        if touched or new_reports or files is None:  # (None: written whole, new columns too)
            _write_reports(tx, published, reports_table, files, _table("reports", new_reports))
        metadata = identity_metadata(
            resolver.registry, tx.versions.get("reports", warehouse.published().get("reports")))
        written = same and write_additions(tx, reports_table.slice(published.num_rows),
                                           resolver, metadata)
        if written:
            agencies_before, agencies = written
        else:
            agencies_before = warehouse.read("agencies")
            fresh = reports_table.slice(published.num_rows)
            agencies = (agency_rows(fresh, resolver, agencies_before) if same
                        else agency_rows(reports_table, resolver))
            tx.rewrite("agencies", agencies, metadata=metadata)
        change = wide.update(tx, published, reports_table, agencies_before, agencies,
                             new_cells, registry_changed=not same)
        touched_rows = _of_identities(reports_table, touched)
        cross = quality_rows(
            cross_report_findings(tx, touched, expected_agencies, resolver,
                                  w4_members=members_of(touched_rows, changed_scopes(
                                      published, reports_table)), reports=touched_rows,
                                  wide_change=change)
            + identity_findings(touched_rows if same else reports_table, resolver), run_id)
        tx.append("quality", _table("quality", cross))
        for row in quality + cross:
            if row["status"] in ("FAIL", "UNCERTAIN"):
                result.findings.append(row)
        result.quality_fail = sum(1 for r in result.findings if r["status"] == "FAIL")
        result.quality_uncertain = len(result.findings) - result.quality_fail
        tx.append("runs", _table("runs", [_run_row(result, run or RunRecord(), now)]))
    return result


def _published_reports(tx, same: bool, reports: list[Report],
                       metas: dict[str, DocumentMeta], resolver: AgencyResolver
                       ) -> tuple[pa.Table, list[tuple[str, int]] | None]:
    """The published reports a load works on, and (path, rows) of the files they were read
    from, or None for the whole table (then written whole). With the registry, the rules and
    the wide tables as the published load left them, only the files that can hold the agencies
    of ``reports`` are read (``clustered.py``): every report of those agencies (the canonical
    choice and the rules need them all), and every earlier copy of ``reports`` (the same
    document names the same agency). Else every row."""
    if same and wide.current(tx):
        agencies = set()
        for report in reports:  # (the name too: until identified, a new row's agency is it)
            meta = metas.get(report.sha256, DocumentMeta())
            found = resolver.resolve(report.agency, meta.region, report.year).agency
            agencies |= {agency_key(report.agency), found.agency_id if found else None}
        holding = read_holding(tx.warehouse, "reports", agencies, LOAD_COLUMNS,
                               only_matching=True)
        if holding is not None:
            return holding
    by_file = same and tx.warehouse.read_by_file("reports", LOAD_COLUMNS)
    return by_file or (conform(tx.warehouse.read("reports"), "reports"), None)


def _run_row(result: LoadResult, run: RunRecord, started: datetime) -> dict:
    failures = result.quality_fail or run.portals_failed or result.reports_unreadable
    return {
        "run_id": result.run_id, "kind": run.kind,
        "started_at": run.started_at or started, "finished_at": datetime.now(UTC),
        "status": "completed_with_failures" if failures else "completed",
        "portals": run.portals, "portals_failed": run.portals_failed,
        "portals_blocked": run.portals_blocked, "documents_new": run.documents_new,
        "reports_loaded": result.reports_loaded, "reports_unchanged": result.reports_unchanged,
        "reports_unreadable": result.reports_unreadable, "cells_loaded": result.cells_loaded,
        "quality_fail": result.quality_fail, "quality_uncertain": result.quality_uncertain,
        "message": run.message,
    }


def _new_documents(warehouse: Warehouse, rows: list[dict]) -> pa.Table:
    seen = {(r["sha256"], r["url"], r["fetched_at"]) for r in warehouse.read(
        "documents", columns=["sha256", "url", "fetched_at"]).to_pylist()}
    fresh = []
    for row in rows:
        record = {name: row.get(name) for name in TABLES["documents"].schema.names}
        record["fetched_at"] = datetime.fromisoformat(row["fetched_at"])
        record["publish_date"] = _date(row.get("publish_date"))
        key = (record["sha256"], record["url"], record["fetched_at"])
        if key not in seen:
            seen.add(key)
            fresh.append(record)
    return _table("documents", fresh)


def _write_reports(tx, published: pa.Table, reports: pa.Table,
                   files: list[tuple[str, int]] | None, new_rows: pa.Table) -> None:
    """``reports`` (``published`` in file order, then ``new_rows``) written as the new version:
    given the published ``files`` (path, rows of it in ``published``: all, or those of the
    load's agencies), only the files holding a row whose canonical flag or agency_id changed
    are rewritten (read whole again: ``published`` holds only ``LOAD_COLUMNS``, maybe of some
    rows) and the new rows go to a new file; else (the registry or the identity rules changed)
    the table, read whole, is written whole."""
    if files is None:
        tx.rewrite("reports", reports)
        return
    old = published.num_rows
    changed = pc.or_(wide.differ(published["canonical"], reports["canonical"].slice(0, old)),
                     wide.differ(published["agency_id"], reports["agency_id"].slice(0, old)))
    rewrite, chunks, start = [], [], 0
    for path, rows in files:
        if pc.any(changed.slice(start, rows)).as_py():
            rewrite.append(path)
            whole = ds.dataset(path, schema=TABLES["reports"].schema, format="parquet")
            chunks.append(_flags(whole.to_table(), reports.slice(start, rows)))  # (by id)
        start += rows
    tx.replace_files("reports", rewrite, [*chunks, _flags(new_rows, reports.slice(old))])


def _flags(rows: pa.Table, chosen: pa.Table) -> pa.Table:
    """``rows`` with the canonical flag and agency_id of the same reports in ``chosen``
    (matched by report_id; a row ``chosen`` lacks keeps its own)."""
    at = pc.index_in(rows["report_id"], value_set=chosen["report_id"].combine_chunks())
    found = pc.is_valid(at)
    for name in ("canonical", "agency_id", "agency_of"):
        given = chosen[name].combine_chunks().take(at)
        rows = rows.set_column(rows.schema.get_field_index(name), name,
                               pc.if_else(found, given, rows[name]))
    return rows


def _of_identities(reports: pa.Table, identities: set[str]) -> pa.Table:
    """The reports whose identity (agency_id, else agency_key) is one of ``identities``."""
    of = agency_of(reports)
    return reports.filter(pc.fill_null(pc.is_in(of, pa.array(sorted(identities), pa.string())),
                                       False))


def _reports_with_canonical(published: pa.Table, new_rows: list[dict],
                            resolver: AgencyResolver, start: int = 0
                            ) -> tuple[pa.Table, set[str]]:
    """Every report (the ``published`` ones, then the new ones) with agency ids resolved again
    from row ``start`` on, and the canonical flags of the touched identities (the new
    reports', and those a registry change merged or split) chosen again; and those
    identities."""
    combined = pa.concat_tables([published, _table("reports", new_rows).select(
        published.column_names)])
    combined, touched = identify(combined, resolver, start)
    fresh = combined.slice(combined.num_rows - len(new_rows)) if new_rows else combined.slice(0, 0)
    touched |= {identity(row) for row in fresh.select(["agency_id", "agency_key"]).to_pylist()}
    touched.discard(None)
    flags = choose_canonical(combined, touched)
    combined = combined.set_column(combined.schema.get_field_index("canonical"), "canonical",
                                   flags)
    return combined, touched
