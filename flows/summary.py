"""What a run tells the data team: the failures table and the markdown summary (functions of the
run's crawl reports, load result and warehouse findings; the flow publishes them). Each failure
names its document (URL, raw-store object) and where in it (page, location); the summary carries
the coverage plot, inline and as a file under the data dir."""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from crawlers.faults import LIST_TRUNCATED, LOST_DOCUMENT_KINDS
from crawlers.rawstore import RawStore
from crawlers.report import CrawlReport
from extract.rules import RULES, Scope, with_scope
from warehouse.load import LoadResult
from warehouse.report import coverage_png
from warehouse.views import connect

FAILURES_KEY = "nianbao-quality-failures"
SUMMARY_KEY = "nianbao-run-summary"
COVERAGE_IMAGE = Path("report") / "coverage_by_province_year.png"  # under the data dir
FAILURES_LINKED = 20  # failures the summary lists with links (the table has them all)


@dataclass
class RunSummary:
    run_id: str
    crawl_reports: list[CrawlReport]
    load: LoadResult
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (document, reason)
    failures: list[dict] = field(default_factory=list)
    pass_rates: list[dict] = field(default_factory=list)

    @property
    def portals_blocked(self) -> list[CrawlReport]:
        return [r for r in self.crawl_reports if r.status == "blocked"]

    @property
    def portals_failed(self) -> list[CrawlReport]:
        return [r for r in self.crawl_reports if r.status == "error"]

    @property
    def portals_partial(self) -> list[CrawlReport]:
        """Portals that found reports but lost documents or were cut short by a cap."""
        return [r for r in self.crawl_reports if r.status == "partial"]

    @property
    def documents_new(self) -> int:
        return sum(r.documents_new for r in self.crawl_reports)

    @property
    def has_failures(self) -> bool:
        return bool(self.failures or self.portals_blocked or self.portals_failed
                    or self.portals_partial or self.skipped)

    def counts(self) -> dict:
        return {"portals": len(self.crawl_reports), "portals_failed": len(self.portals_failed),
                "portals_blocked": len(self.portals_blocked),
                "portals_partial": len(self.portals_partial), "documents_new": self.documents_new,
                "reports_new": self.load.reports_loaded, "reports_unreadable":
                self.load.reports_unreadable, "documents_skipped": len(self.skipped),
                "quality_fail": self.load.quality_fail,
                "quality_uncertain": self.load.quality_uncertain}


def _no_document(document: str | None = None) -> dict:
    """The failures table's location columns for a row that has no stored document."""
    return {"document": document, "raw": None, "page": None, "location": None}


def crawl_failures(crawl_reports: list[CrawlReport]) -> list[dict]:
    """In the failures table's columns: a row per portal that failed or was blocked, and a row
    ``crawl:<kind>`` per document lost (timeout, too_large, ...) or crawl cut short."""
    rows = []
    for r in crawl_reports:
        if r.status in ("error", "blocked"):
            rows.append({"portal": r.portal_id, "agency": r.agency, "year": None,
                         "rule": "crawl:" + (",".join(r.blocked) or r.status),
                         "subject": "portal", "expected": None, "observed": None,
                         "message": r.message, **_no_document()})
        for kind, urls in sorted(r.errors.items()):
            if kind in LOST_DOCUMENT_KINDS or kind == LIST_TRUNCATED:
                rows += [{"portal": r.portal_id, "agency": r.agency, "year": None,
                          "rule": f"crawl:{kind}", "subject": url, "expected": None,
                          "observed": None, "message": r.message,
                          **_no_document(document=url)} for url in urls]
    return rows


def warehouse_findings(data_dir: Path, run_id: str) -> tuple[list[dict], list[dict]]:
    """This run's FAIL findings (with portal, agency, year) and its pass rate per rule."""
    con = connect(data_dir)
    # A rule scoped <portal>/<year> names the agency the portal expects as its subject.
    failures = con.execute("""
        WITH portal_rules AS (SELECT unnest(?::VARCHAR[]) AS rule)
        SELECT coalesce(r.portal_id, CASE WHEN q.rule IN (FROM portal_rules)
                                          THEN split_part(q.scope, '/', 1) END) AS portal,
               CASE WHEN q.rule IN (FROM portal_rules) THEN q.subject
                    ELSE coalesce(r.agency, q.scope) END AS agency,
               coalesce(r.year, CASE WHEN q.rule IN (FROM portal_rules)
                                     THEN TRY_CAST(split_part(q.scope, '/', 2) AS INTEGER) END)
                   AS year,
               q.rule, q.subject, q.expected, q.observed, q.message,
               r.source_url AS document, r.document_sha256, found_at.page, found_at.location
        FROM quality_history q LEFT JOIN reports r USING (report_id)
        -- where in the document: the first cell the finding names that has a page or location
        LEFT JOIN LATERAL (
            SELECT c.page, c.location FROM _cells c
            WHERE c.report_id = q.report_id
              AND list_contains(q.cells, c."table" || '/' || c."row" || '/' || c.col)
            ORDER BY c.page IS NULL AND c.location IS NULL,
                     list_position(q.cells, c."table" || '/' || c."row" || '/' || c.col)
            LIMIT 1) found_at ON true
        WHERE q.run_id = ? AND q.status = 'FAIL' ORDER BY q.rule, portal, agency, q.subject
    """, [with_scope(Scope.PORTAL_YEAR), run_id]).fetchall()
    columns = ("portal", "agency", "year", "rule", "subject", "expected", "observed", "message",
               "document", "raw", "page", "location")
    store = RawStore(data_dir)
    failures = [(*row[:9], str(store.path_of(row[9])) if row[9] else None, *row[10:])
                for row in failures]
    rates = con.execute("""
        SELECT rule, count(*) FILTER (WHERE status = 'PASS') AS pass,
               count(*) FILTER (WHERE status = 'FAIL') AS fail,
               count(*) FILTER (WHERE status = 'UNCERTAIN') AS uncertain
        FROM quality_history WHERE run_id = ? GROUP BY rule ORDER BY rule
    """, [run_id]).fetchall()
    con.close()
    return ([dict(zip(columns, row)) for row in failures],
            [{"rule": rule, "name": RULES[rule].name if rule in RULES else "",
              "pass": p, "fail": f, "uncertain": u,
              "pass_rate": round(p / (p + f + u), 3) if p + f + u else None}
             for rule, p, f, u in rates])


def percent(rate: dict) -> str:
    """A pass-rate row's rate for people: "93%", or "—" when the rule ran on nothing."""
    return "—" if rate["pass_rate"] is None else f"{rate['pass_rate']:.0%}"


def coverage_markdown(data_dir: Path) -> list[str]:
    """The coverage plot as markdown: the image inline (a data: URI, which the Prefect UI's
    markdown shows without reaching any server) and the file it is also written to."""
    path = data_dir / COVERAGE_IMAGE
    png = coverage_png(data_dir)
    if png is None:
        return ["## Coverage", "", "no data: the warehouse holds no canonical report yet"]
    try:  # the file is a convenience: a full or read-only disk must not cost the summary
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        where = f"file: `{path}`"
    except OSError as exc:
        where = f"file not written: {exc}"
    encoded = base64.b64encode(png).decode("ascii")
    return ["## Coverage", "",
            "Bodies with a report per province and year against the bodies expected (see "
            "`docs/queries/coverage_by_province_year.sql`).", "",
            f"![coverage by province and year](data:image/png;base64,{encoded})", "", where]


def failure_links(failures: list[dict], limit: int = FAILURES_LINKED) -> list[str]:
    """The first failures as markdown, each with a link to its document, its raw-store object
    and where in the document (the table artifact holds every row, as text)."""
    rows = [f for f in failures if f.get("document") or f.get("raw")]
    if not rows:
        return []
    lines = ["## Failures and their documents", ""]
    for f in rows[:limit]:
        where = ", ".join(part for part in (f"page {f['page']}" if f.get("page") else "",
                                            f.get("location") or "") if part)
        link = f"[document]({f['document']})" if f.get("document") else ""
        raw = f"raw `{f['raw']}`" if f.get("raw") else ""
        lines.append(f"- {f.get('rule')} {f.get('agency') or f.get('portal') or ''} "
                     f"{f.get('year') or ''} {f.get('subject') or ''}: "
                     + "; ".join(part for part in (link, raw, where) if part))
    if len(rows) > limit:
        lines.append(f"- … {len(rows) - limit} more in the `{FAILURES_KEY}` table")
    return lines


def markdown(summary: RunSummary, data_dir: Path | None = None) -> str:
    """The run summary; given ``data_dir``, with the coverage plot and linked failures."""
    c = summary.counts()
    lines = [f"# nianbao run `{summary.run_id}`", "",
             "| portals crawled | blocked | failed | partial | documents new | reports new | "
             "unreadable | skipped | FAIL findings | UNCERTAIN |",
             "|---|---|---|---|---|---|---|---|---|---|",
             f"| {c['portals']} | {c['portals_blocked']} | {c['portals_failed']} | "
             f"{c['portals_partial']} | "
             f"{c['documents_new']} | {c['reports_new']} | {c['reports_unreadable']} | "
             f"{c['documents_skipped']} | {c['quality_fail']} | {c['quality_uncertain']} |", ""]
    lines += ["## Portals", "",
              "| portal | status | reports | new | unchanged | errors | seconds |",
              "|---|---|---|---|---|---|---|"]
    for r in summary.crawl_reports:
        errors = ", ".join(f"{k} {len(v)}" for k, v in r.errors.items()) or "—"
        lines.append(f"| {r.portal_id} | {r.status} | {r.reports_found} | "
                     f"{r.documents_new} | {r.documents_unchanged} | {errors} | "
                     f"{r.duration_s or 0:.1f} |")
    for label, group in (("Blocked", summary.portals_blocked), ("Failed", summary.portals_failed),
                         ("Partial", summary.portals_partial)):
        if group:
            lines += ["", f"**{label}:** " + "; ".join(f"{r.portal_id} ({r.message})"
                                                        for r in group)]
    lines += ["", "## Pass rate per rule", "",
              "| rule | name | PASS | FAIL | UNCERTAIN | pass rate |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['rule']} | {r.get('name', '')} | {r['pass']} | {r['fail']} | "
              f"{r['uncertain']} | {percent(r)} |" for r in summary.pass_rates]
    slowest = sorted(summary.crawl_reports, key=lambda r: -(r.duration_s or 0))[:5]
    lines += ["", "## Slowest portals", ""]
    lines += [f"1. {r.portal_id}: {r.duration_s or 0:.1f} s" for r in slowest]
    if summary.skipped:
        reasons = Counter(reason for _, reason in summary.skipped)
        lines += ["", "## Skipped documents", ""]
        lines += [f"- {n} × {reason}" for reason, n in reasons.items()]
    if data_dir is not None:
        lines += ["", *coverage_markdown(data_dir)]
        links = failure_links(summary.failures)
        lines += ["", *links] if links else []
    return "\n".join(lines) + "\n"
