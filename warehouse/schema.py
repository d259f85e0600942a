"""The warehouse tables: one definition per column (name, type, description), read by the writer,
the views and the data dictionary (datapackage.json, docs/data-dictionary.md)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from extract.rules import RULES, Scope, with_scope
from warehouse.cell_keys import wide_keys


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class TableDef:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # what makes a row unique (loads are idempotent on it)
    partition_by: tuple[str, ...] = ()
    # Columns the views add from a joined table (not stored: they follow later loads).
    view_columns: tuple[Column, ...] = ()
    # A wide table: its columns end with one ``row__col`` number per cell key of this table.
    cell_table: str | None = None
    # Written sorted by these, each file's min/max of them recorded in its Delta add action:
    # a load reads only the files that can hold the agencies it changes (``clustered.py``,
    # by the first).
    cluster_by: tuple[str, ...] = ()

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])


# Column types, short because the tables below are read as tables.
S, N, F, B = pa.string(), pa.int64(), pa.float64(), pa.bool_()
T, D = pa.timestamp("us", tz="UTC"), pa.date32()

DOCUMENTS = TableDef("documents", "One row per document fetch recorded in the crawl manifest.", (
    Column("sha256", S, "sha256 of the bytes as fetched; the raw store names the file by it",
           False),
    Column("portal_id", S, "portal config id", False),
    Column("url", S, "URL as requested", False),
    Column("final_url", S, "URL after redirects"),
    Column("page_url", S, "article page an attachment was linked from (null for pages)"),
    Column("kind", S, "page (a report's HTML page) or attachment"),
    Column("title", S, "title of the report as the portal lists it"),
    Column("publish_date", D, "publication date the portal states"),
    Column("publisher", S, "发布机构 / ContentSource"),
    Column("index_number", S, "索引号 as printed (kept raw; often irregular)"),
    Column("content_type", S, "HTTP Content-Type"),
    Column("size", N, "bytes"),
    Column("fetched_at", T, "when it was fetched (UTC)", False),
    Column("http_status", N, "200, or 304 when the stored copy was still current"),
    Column("agency", S, "agency the crawler inferred (title, metadata, then portal config)"),
    Column("year", N, "report year the crawler inferred"),
    Column("attachment_name", S, "human name of an attachment (link text)"),
    Column("variant", S, "图片版 / 超链版 …: a variant of a report, not a new one"),
), key=("sha256", "url", "fetched_at"))

REPORTS = TableDef("reports", "One row per extracted document and extractor version.", (
    Column("report_id", S, "hash of document sha256, extractor name and version", False),
    Column("document_sha256", S, "sha256 of the source document", False),
    Column("agency", S, "agency as the report's title names it"),
    Column("agency_key", S, "agency name normalised for matching (NFKC, no spaces, simplified)"),
    Column("agency_id", S, "the body the name identifies (table agencies); null where the name "
                           "is not recognised (a quality finding A1, never a guess)"),
    Column("agency_of", S, "what the canonical choice and the cross-report rules group by: "
                           "agency_id, else agency_key; rows are written sorted by it"),
    Column("region", S, "region, where the portal config states it"),
    Column("year", N, "report year (the year reported on, not the publication year)"),
    Column("template_disclosure", S,
           "template of table 二: 2019 or 2021 (decided from its labels)"),
    Column("template_requests", S, "template of table 三: 2019 or 2021"),
    Column("format", S, "html, pdf, docx, doc, wps or text"),
    Column("source_url", S, "URL the document was fetched from"),
    Column("page_url", S, "article page of an attachment"),
    Column("publish_date", D, "publication date the portal states"),
    Column("portal_id", S, "portal config id"),
    Column("extractor", S, "extractor that produced the cells"),
    Column("extractor_version", S, "its version"),
    Column("status", S, "ok, quality_failures (a report rule FAILs), unreadable, or "
                        "not_a_report (a page without the report tables, e.g. one linking a PDF)"),
    Column("error", S, "why an unreadable document could not be read"),
    Column("cells_found", N, "cells with a number"),
    Column("checks_failed", N, "report-level rule instances that FAIL"),
    Column("canonical", B, "the report chosen for its agency-year (docs/warehouse.md)", False),
    Column("loaded_at", T, "when it was loaded", False),
    Column("run_id", S, "run that loaded it", False),
), key=("report_id",), cluster_by=("agency_of",))

CELLS = TableDef("cells", "One row per extracted cell (long form). Blank cells are null, not 0.", (
    Column("report_id", S, "report the cell belongs to", False),
    Column("year", N, "report year (partition column)"),
    Column("table", S, "disclosure, requests or appeals", False),
    Column("row", S, "canonical row key (docs/design.md, canonical cells)", False),
    Column("col", S, "canonical column key", False),
    Column("value", F, "the number (amounts in 万元); null where the report left it blank"),
    Column("raw", S, "the cell text as printed"),
    Column("page", N, "page of a PDF the cell was read on"),
    Column("location", S, "table index and the row label as printed"),
    Column("corrected", B, "a manual correction replaced the printed value", False),
    Column("original_value", F, "the printed value, where corrected"),
    Column("ocr_confidence", F, "0-100: how sure OCR was of the cell's text; null unless the "
                                "cell was read by OCR from an image"),
), key=("report_id", "table", "row", "col"), partition_by=("year",),
   view_columns=(Column("agency_id", S, "the report's agency_id (from reports)"),))

QUALITY = TableDef("quality", "Quality findings: report rules R1-R6, value findings, cross-report "
                   "rules W1-W4 and A1 agency identity (every rule: see Quality rules).", (
    Column("run_id", S, "run that produced the finding", False),
    Column("report_id", S, "report the finding is about (null for cross-report scopes)"),
    Column("scope", S, "what the finding is about, by rule: " + "; ".join(
        f"`{scope.value}` ({', '.join(with_scope(scope))})" for scope in Scope)
        + "; for `nianbao verify`: raw_store, manifest, snapshot or table", False),
    Column("rule", S, ", ".join(f"{r.id} {r.name}" for r in RULES.values())
           + "; or, recorded by `nianbao verify`, the kind of a storage problem", False),
    Column("subject", S, "what the rule looked at (a column, a row, a table, agency/year; "
                         "for A1 the outcome: identified, unknown_region, ambiguous_region, "
                         "unknown_form)"),
    Column("status", S, "PASS, FAIL or UNCERTAIN", False),
    Column("message", S, "what was found"),
    Column("expected", F, "expected value"),
    Column("observed", F, "observed value"),
    Column("cells", pa.list_(S), "cells involved (table/row/col)"),
), key=("run_id", "report_id", "scope", "rule", "subject"),
   view_columns=(Column("agency_id", S, "the report's agency_id, for findings about a "
                                        "report (from reports)"),))

RUNS = TableDef("runs", "One row per pipeline run (load, rebuild or nightly).", (
    Column("run_id", S, "run id", False),
    Column("kind", S, "load, rebuild or nightly", False),
    Column("started_at", T, "start (UTC)", False),
    Column("finished_at", T, "end (UTC)"),
    Column("status", S, "completed, or completed_with_failures"),
    Column("portals", N, "portals crawled"),
    Column("portals_failed", N, "portals whose crawl failed"),
    Column("portals_blocked", N, "portals that answered with challenge pages"),
    Column("documents_new", N, "documents new in the raw store"),
    Column("reports_loaded", N, "reports loaded (new documents or extractor versions)"),
    Column("reports_unchanged", N, "reports already in the warehouse"),
    Column("reports_unreadable", N, "documents that could not be read"),
    Column("cells_loaded", N, "cells loaded"),
    Column("quality_fail", N, "FAIL findings of this run"),
    Column("quality_uncertain", N, "UNCERTAIN findings of this run"),
    Column("message", S, "summary"),
), key=("run_id",))

AGENCIES = TableDef("agencies", "One row per body that reports name, identified by rules and the "
                    "reviewed registry warehouse/agencies.yaml; rebuilt by every load.", (
    Column("agency_id", S, "stable id: division code, kind and body (320813-gov, 320813-office, "
                           "371000-zone-经济技术开发区, 320800-dept-交通运输局, cn-gov)", False),
    Column("name", S, "canonical name (淮安市洪泽区人民政府)", False),
    Column("aliases", pa.list_(S), "every name the reports and the registry give the body"),
    Column("province", S, "province-level region (江苏省)"),
    Column("prefecture", S, "prefecture-level region (淮安市); null for a 直辖市 district"),
    Column("county", S, "county-level region (洪泽区)"),
    Column("division_code", S, "GB/T 2260 code of its region, six digits (a township body: "
                               "its county's)"),
    Column("level", S, "central, province, prefecture, county or township"),
    Column("kind", S, "government, general_office, department, zone_committee or other", False),
    Column("parent_id", S, "agency_id of the body above it, where known"),
    Column("source", S, "rules, or the registry entry's who: why (source)"),
), key=("agency_id",), cluster_by=("agency_id",))

WIDE_BUCKETS = 64  # partitions of the wide tables (docs/warehouse.md: the layout)


def _wide(name: str, table: str, title: str) -> TableDef:
    """One row per canonical report: its report columns, its agency's region and kind, its
    quality flags, then a number per cell key of ``table`` (null where the report left it
    blank), materialized by every load from ``cells``."""
    cells = tuple(Column(f"{row}__{col}", F, f"cell {table}/{row}/{col} (see Cell keys)")
                  for row, col in wide_keys(table))
    return TableDef(name, f"One row per canonical report with a number column per cell of "
                    f"{title}; written by every load (the same values as `cells`). Its files "
                    "also hold the rows `wide_removed` names (reports no longer canonical): "
                    "the views and `nianbao export` leave them out.", (
        Column("report_id", S, "the canonical report (reports.report_id)", False),
        *(next(c for c in REPORTS.columns if c.name == n) for n in (
            "agency", "agency_key", "agency_id", "region", "year", "template_disclosure",
            "template_requests", "format", "publish_date", "portal_id", "source_url")),
        Column("division_code", S, "GB/T 2260 code of the agency's region (from agencies)"),
        Column("level", S, "the agency's level (from agencies)"),
        Column("kind", S, "the agency's kind (from agencies)"),
        Column("status", S, "ok or quality_failures (reports.status)"),
        Column("checks_failed", N, "report-level rule instances that FAIL"),
        Column("cells_found", N, "cells with a number (all tables)"),
        Column("agency_of", S, "the agency its partition and the cross-report rules go by: "
                               "agency_id, else (a name not recognised) agency_key", False),
        Column("agency_bucket", N, f"layout: md5 of agency_id (else agency_key) modulo "
                                   f"{WIDE_BUCKETS}, in SQL bucket_of(agency); the partition "
                                   "that holds every year of the agency", False),
        *cells,
    ), key=("report_id",), partition_by=("agency_bucket",), cluster_by=("agency_of", "year"),
        cell_table=table)


REQUESTS_WIDE = _wide("requests_wide", "requests", "table 三 (requests and their outcomes)")
DISCLOSURE_WIDE = _wide("disclosure_wide", "disclosure", "table 二 (proactive disclosure)")
APPEALS_WIDE = _wide("appeals_wide", "appeals", "table 四 (reconsiderations and lawsuits)")
WIDE = (REQUESTS_WIDE, DISCLOSURE_WIDE, APPEALS_WIDE)

WIDE_REMOVED = TableDef("wide_removed", "Rows of the wide tables' files that no longer count "
                        "(their report stopped being canonical): every reader of a wide table "
                        "leaves them out, and a load that rewrites the file drops them "
                        "(docs/warehouse.md, removed rows).", (
    Column("table", S, "requests_wide, disclosure_wide or appeals_wide", False),
    Column("path", S, "the data file, as the table's Delta log names it", False),
    Column("report_id", S, "the report whose row in that file no longer counts", False),
), key=("table", "path", "report_id"))

TABLES: dict[str, TableDef] = {t.name: t for t in (DOCUMENTS, REPORTS, CELLS, QUALITY, RUNS,
                                                   AGENCIES, *WIDE, WIDE_REMOVED)}
