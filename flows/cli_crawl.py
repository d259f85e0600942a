"""``nianbao crawl``: portals into the raw store, and a table of their crawl reports."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from crawlers.report import CrawlReport
from flows.cli_options import DEFAULT_DATA_DIR, DataDir, Portals

_STATUS_STYLE = {"ok": "green", "partial": "yellow", "error": "bold red", "blocked": "yellow"}


def crawl(
    portals: Portals,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    delay: Annotated[float | None, typer.Option(
        help="Override every portal's delay in seconds (0 turns politeness off: test portals "
             "only).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Crawl reports as JSON Lines.")] = False,
) -> None:
    """Crawl portals into the raw store (Scrapy, in a subprocess) and print each crawl report.

    Exits 0 when every portal yielded all its reports, 3 when any failed, was blocked or is
    partial (lost documents, or cut short by its cap), 2 for a bad config.
    """
    from flows.crawling import run_crawl

    result = run_crawl(portals, data_dir, delay=delay, echo_log=not as_json)
    if result.config_error:
        Console(stderr=True).print(f"[bold red]config error[/] {result.config_error}")
        raise typer.Exit(2)
    if as_json:
        for report in result.reports:
            typer.echo(report.to_json())
    else:
        print_crawl_reports(result.reports, Console())
    raise typer.Exit(0 if result.ok else 3)


def print_crawl_reports(reports: list[CrawlReport], out: Console) -> None:
    from rich.table import Table

    table = Table(title="crawl reports")
    for column in ("portal", "status", "pages", "reports", "new", "unchanged", "decoys", "errors"):
        table.add_column(column)
    for r in reports:
        errors = ", ".join(f"{kind} {len(urls)}" for kind, urls in r.errors.items())
        table.add_row(r.portal_id, f"[{_STATUS_STYLE.get(r.status, '')}]{r.status}[/]",
                      str(r.pages_fetched), str(r.reports_found), str(r.documents_new),
                      str(r.documents_unchanged), str(r.decoys_skipped), errors)
    out.print(table)
    for r in reports:
        if r.status != "ok":
            out.print(f"[bold]{r.portal_id}[/]: {r.message}")
