"""``nianbao discover``: portal configs for the annual-report columns of government sites
(crawlers/discover.py), and a table of what was found and what was not."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # Scrapy and the adapters load only when the command runs
    from crawlers.discover import SiteFound


class NoSites(ValueError):
    kind = "no_sites"


def discover(
    urls: Annotated[list[str] | None, typer.Argument(
        help="Home pages (or 政府信息公开 pages) of government sites.")] = None,
    sites: Annotated[Path | None, typer.Option(
        help="A file of sites: one URL a line, or a CSV with name,url.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the configs written.")] = Path("discovered"),
    delay: Annotated[float, typer.Option(
        help="Seconds between requests to one site (0: test portals only).")] = 2.0,
    max_pages: Annotated[int, typer.Option(help="Requests per site, robots.txt included.")] = 30,
    max_depth: Annotated[int, typer.Option(help="Navigation links followed from the start.")] = 3,
) -> None:
    """Find each site's report columns by its navigation and write one config per column
    (``verified: false``). Exits 0 when every site gave a column, 3 when one did not."""
    from crawlers.discover import discover_site, read_sites, write_configs

    targets: list[tuple[str | None, str]] = [(None, u) for u in urls or []]
    if sites is not None:
        targets += read_sites(sites)
    if not targets:
        raise NoSites("give site URLs or --sites FILE")
    found = []
    for name, url in targets:
        found.append(discover_site(url, name, delay=delay, max_pages=max_pages,
                                   max_depth=max_depth))
    written = write_configs(found, out)
    print_found(found, Console(width=200))
    for path in written:
        typer.echo(f"wrote {path}")
    raise typer.Exit(0 if all(site.columns for site in found) else 3)


def print_found(found: list[SiteFound], out: Console) -> None:
    table = Table(title="report columns found")
    for name in ("site", "column", "platform", "entries", "reports", "evidence"):
        table.add_column(name, overflow="fold")
    for site in found:
        for c in site.columns:
            where = f" on {c.link.page}" if c.link.page else ""
            table.add_row(c.site, c.url, c.platform, str(c.entries), str(c.reports),
                          f"“{c.link.text}”{where}")
    out.print(table)
    missing = Table(title="not written")
    for name in ("site", "link", "url", "why"):
        missing.add_column(name, overflow="fold")
    for site in found:
        if site.error:
            missing.add_row(site.start, "", site.start, f"start page: {site.error}")
        elif not site.columns:
            missing.add_row(site.start, "", "", "no report column found "
                            f"({site.pages_fetched} requests)")
        for r in site.rejected:
            missing.add_row(r.site, r.text, r.url, r.reason)
    out.print(missing)
