"""``nianbao run`` (the nightly flow once) and ``nianbao serve`` (its deployment, on a cron)."""

from __future__ import annotations

import os
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from flows.cli_crawl import print_crawl_reports
from flows.cli_options import DEFAULT_DATA_DIR, DataDir, Portals

if TYPE_CHECKING:  # the flow module imports Prefect: only when a run starts
    from flows.nightly import NightlyResult


def run(
    portals: Portals,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    delay: Annotated[float | None, typer.Option(
        help="Override every portal's delay in seconds (0: test portals only).")] = None,
    task_runner: Annotated[str, typer.Option(help="threads or dask.")] = "threads",
    workers: Annotated[int, typer.Option(help="Parallel tasks (threads or Dask workers).")] = 4,
    dask_address: Annotated[str | None, typer.Option(
        help="A running Dask scheduler (tcp://host:8786); default: a local cluster.")] = None,
    shards: Annotated[int | None, typer.Option(
        help="Crawler processes (default: from the portals, cores and --workers; with "
             "threads, at most --workers tasks run at once).")] = None,
) -> None:
    """Run the whole pipeline once as a Prefect flow: crawl, extract, load, check.

    Exits 0 when the run completed (portal and quality failures are recorded, not fatal),
    1 when the pipeline itself failed.
    """
    from flows.nightly import nightly
    from flows.runners import make_task_runner

    flow = nightly.with_options(task_runner=make_task_runner(task_runner, workers, dask_address))
    with _prefect_api_for_this_run():
        state = flow(portals=str(portals), data_dir=str(data_dir), delay=delay, shards=shards,
                     return_state=True)
    out = Console()
    if not state.is_completed():
        out.print(f"[bold red]run failed[/] {state.message}")
        raise typer.Exit(1)
    print_run(state.result(), out)
    out.print(f"[bold]{state.message}[/]")


@contextmanager
def _prefect_api_for_this_run() -> Iterator[None]:
    """The configured PREFECT_API_URL, or a server of this run's own that a ``kill -9`` of the
    run takes down with it (Prefect's ephemeral server would be left running)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.children import prefect_server

    if PREFECT_API_URL.value():
        yield
        return
    with prefect_server() as url, temporary_settings(updates={PREFECT_API_URL: url}):
        try:
            yield
        finally:  # logs still queued for a stopped server would be retried for a minute at exit
            from prefect.logging.handlers import APILogWorker

            APILogWorker.drain_all(timeout=5)


def print_run(result: NightlyResult, out: Console) -> None:
    """The nightly flow's result (flows/nightly.py): crawl reports, counts, quality."""
    from rich.table import Table

    from flows.summary import percent

    print_crawl_reports(result.crawl_reports, out)
    out.print(f"run {result.run_id}: {result.documents_extracted} documents extracted, "
              f"{result.reports_new} reports new, {result.reports_unreadable} unreadable, "
              f"{result.documents_skipped} skipped")
    rates = Table("rule", "PASS", "FAIL", "UNCERTAIN", "pass rate", title="quality by rule")
    for r in result.pass_rates:
        rates.add_row(r["rule"], str(r["pass"]), str(r["fail"]), str(r["uncertain"]),
                      percent(r))
    out.print(rates)
    failures = result.failures
    table = Table("portal", "agency", "year", "rule", "subject", "expected", "observed",
                  title=f"quality failures ({len(failures)}; the first 20)")
    for f in failures[:20]:
        table.add_row(*("" if f[k] is None else str(f[k]) for k in
                        ("portal", "agency", "year", "rule", "subject", "expected", "observed")))
    out.print(table)


def serve(
    portals: Annotated[Path, typer.Option(help="Portal configs to crawl each night.")] = Path(
        "crawlers/portals"),
    data_dir: DataDir = DEFAULT_DATA_DIR,
    cron: Annotated[str, typer.Option(help="When to run (cron).")] = "0 2 * * *",
    timezone: Annotated[str, typer.Option(help="Time zone of the cron schedule.")] = (
        "Asia/Shanghai"),
    wait_for_api: Annotated[float, typer.Option(
        help="Seconds to wait for PREFECT_API_URL to answer before serving.")] = 0,
) -> None:
    """Register the deployment ``nightly`` with its cron schedule and serve it (Ctrl-C stops).

    Needs a Prefect API (PREFECT_API_URL); ``make serve`` starts a local server for it.
    """
    from prefect.schedules import Cron

    from flows.nightly import nightly

    if wait_for_api:
        _wait_for_api(wait_for_api)

    nightly.serve(name="nightly", schedules=[Cron(cron, timezone=timezone)],
                  parameters={"portals": str(portals.resolve()),
                              "data_dir": str(data_dir.resolve())},
                  description="Crawl the portals, extract new documents, load, check.")


def _wait_for_api(seconds: float) -> None:
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        raise typer.BadParameter("--wait-for-api needs PREFECT_API_URL")
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=5)
            return
        except OSError:
            if time.monotonic() > deadline:
                Console(stderr=True).print(f"[bold red]no Prefect API at {url} after "
                                           f"{seconds:.0f} s[/]")
                raise typer.Exit(1) from None
            time.sleep(1)
