"""``nianbao try CONFIG``: one list page of a portal (and its next), each entry with its verdict;
nothing stored (crawlers/trial.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # Scrapy and the adapters load only when the command runs
    from crawlers.trial import Trial


def try_portal(
    config: Annotated[Path, typer.Argument(help="A portal config (YAML).")],
    delay: Annotated[float | None, typer.Option(
        help="Seconds between requests (default: the config's delay; 0: test portals only).")
    ] = None,
    pages: Annotated[int, typer.Option(help="List pages to read, the first included.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Entries as JSON Lines.")] = False,
) -> None:
    """Read a config's first list page and the next one, and print each entry as the crawl
    would judge it (report or not, agency, year, why). Stores nothing. Exits 1, naming the
    reason, on a challenge page, a soft 404, a layout the adapter cannot read, or no report."""
    from crawlers.config import ConfigError, load_config
    from crawlers.trial import try_config

    try:
        portal = load_config(config)
    except ConfigError as exc:  # as `nianbao crawl` says it
        Console(stderr=True).print(f"[bold red]config error[/] {exc}")
        raise typer.Exit(2) from None
    trial = try_config(portal, delay=delay, pages=pages)
    if as_json:
        for page in trial.pages:
            for v in page.entries:
                typer.echo(json.dumps({"page": page.url, "url": v.entry.url, "title": v.entry.title,
                                       "date": v.entry.date, "report": v.is_report,
                                       "agency": v.verdict.agency, "year": v.verdict.year,
                                       "variant": v.verdict.variant, "why": v.verdict.reason},
                                      ensure_ascii=False))
    else:
        print_trial(trial, Console(width=200))
    if trial.next_page_error is not None:
        typer.echo(f"next page not read: {trial.next_page_error.kind}: {trial.next_page_error}",
                   err=True)
    if trial.failure is not None:
        raise trial.failure


def print_trial(trial: Trial, out: Console) -> None:
    first = trial.pages[0]
    out.print(f"[bold]{trial.config.id}[/] platform {first.platform}; pages read: "
              + ", ".join(u for p in trial.pages for u in p.fetched))
    table = Table()
    for name in ("#", "verdict", "agency", "year", "title", "why", "url"):
        table.add_column(name, overflow="fold")
    n = 0
    for page in trial.pages:
        for v in page.entries:
            n += 1
            verdict = "[green]report[/]" if v.is_report else "[yellow]not a report[/]"
            if v.verdict.variant:
                verdict += f" ({v.verdict.variant})"
            table.add_row(str(n), verdict, v.verdict.agency or "", str(v.verdict.year or ""),
                          v.entry.title or "", v.verdict.reason, v.entry.url)
    out.print(table)
    out.print(f"{len(trial.reports)} reports among {len(trial.entries)} entries")
