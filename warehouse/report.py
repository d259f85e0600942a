"""The researchers' report: each research query of docs/queries/ run read-only on the warehouse,
its figure and its rows, written as a static, self-contained HTML page (``nianbao report``).

The SQL a figure shows is exactly the file that made it: the file is read, run through
``warehouse.query.run_query`` (read-only, the warehouse's files only) and printed on the page.
A query that fails or returns nothing gives its section a note, never a broken page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from extract.rules import RULES
from warehouse.query import QueryFailed, QueryRefused, QueryResult, run_query
from warehouse.report_html import write_page
from warehouse.report_plots import (
    draw_appeals_outcomes,
    draw_arithmetic_failure_rates,
    draw_coverage,
    draw_outcome_shares,
    draw_requests_by_year,
    render_png,
)
from warehouse.views import DamagedTable

QUERIES = Path(__file__).resolve().parents[1] / "docs" / "queries"
# what a query that cannot answer is reported as (the others keep their sections)
_QUERY_ERRORS = (QueryFailed, QueryRefused, DamagedTable)


@dataclass(frozen=True)
class Plot:
    name: str  # the query file's stem, also the image's
    title: str
    explanation: str
    draw: Callable

    @property
    def query_file(self) -> Path:
        return QUERIES / f"{self.name}.sql"


@dataclass
class Section:
    plot: Plot
    sql: str
    result: QueryResult | None = None
    image: str | None = None  # file name next to index.html
    note: str | None = None  # why there is no figure


COVERAGE = Plot(
    "coverage_by_province_year", "Coverage by province and year",
    "Each square: of the bodies expected to report in a province for a year, how many have a "
    "report (found/expected). Expected are (1) every body of the province in the agencies "
    "table — the registry (warehouse/agencies.yaml) and every body a report was recognised "
    "as — in every year the warehouse holds any report for, and (2) every body a portal "
    "config lists under `agencies`, in each year that portal published reports for, placed "
    "in the province of the portal's reports. A body that is in neither is not expected; "
    "reports whose agency was not recognised are not counted.", draw_coverage)

PLOTS = (
    COVERAGE,
    Plot("requests_by_year", "Applications per year",
         "Applications received (new this year) and answered, summed over the canonical "
         "report of each agency-year.", draw_requests_by_year),
    Plot("outcome_shares", "How applications were answered",
         "Share of applications answered, by outcome: granted, partly granted, denied (by the "
         "reason the template lists), unable to provide, not processed and other. Blank cells "
         "add nothing.", draw_outcome_shares),
    Plot("appeals_outcomes", "Appeals and their outcomes",
         "Administrative reconsideration and litigation (direct, and after reconsideration) "
         "over disclosure decisions, by outcome.", draw_appeals_outcomes),
    Plot("arithmetic_failure_rates", "Reports breaking their own arithmetic",
         "Share of readable reports (every copy, in every format) with a FAIL of the format's "
         "own arithmetic (" + ", ".join(f"{r.id} {r.name}" for r in RULES.values() if r.sums)
         + "), by report year "
         "and by document format. Bars are labelled failing/reports.",
         draw_arithmetic_failure_rates),
)


def run_section(plot: Plot, data_dir: Path, out: Path | None) -> Section:
    """Run the plot's query file; its figure as ``out/<name>.png`` (bytes kept in memory
    when ``out`` is None), or a note saying why there is none."""
    sql = plot.query_file.read_text(encoding="utf-8")
    section = Section(plot, sql)
    try:
        section.result = run_query(data_dir, sql)
    except _QUERY_ERRORS as exc:
        section.note = f"no data: the query could not run ({exc.kind}: {exc})"
        return section
    if not section.result.rows:
        section.note = "no data: the warehouse holds nothing this query counts yet"
        return section
    name = f"{plot.name}.png"
    render_png(plot.draw, section.result.columns, section.result.rows,
               out / name if out is not None else None)
    section.image = name
    return section


def write_report(data_dir: Path, out: Path) -> Path:
    """Every plot of ``PLOTS`` over the warehouse at ``data_dir``, as ``out/index.html`` with
    its images next to it; returns the page's path."""
    out.mkdir(parents=True, exist_ok=True)
    sections = [run_section(plot, data_dir, out) for plot in PLOTS]
    for section in sections:  # an earlier report's figure must not outlive its data
        if section.image is None:
            (out / f"{section.plot.name}.png").unlink(missing_ok=True)
    return write_page(out, sections, data_dir)


def coverage_png(data_dir: Path, path: Path | None = None) -> bytes | None:
    """The coverage figure as PNG bytes (also written to ``path``), or None when the
    warehouse has nothing to cover or cannot be read."""
    try:
        result = run_query(data_dir, COVERAGE.query_file.read_text(encoding="utf-8"))
    except _QUERY_ERRORS:
        return None
    if not result.rows:
        return None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return render_png(COVERAGE.draw, result.columns, result.rows, path)
