"""The ``nianbao`` command line (docs/design.md lists the commands)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from extract import Report
from extract.limits import DOCUMENT_TIMEOUT, MEMORY_LIMIT, ExtractionPool, Limits
from extract.model import summarise
from flows.cli_discover import discover
from flows.cli_try import try_portal
from flows.cli_report import report
from flows.errors import ErrorHandlingTyper, set_debug

# Every command runs under the one error handler (flows/errors.py): an expected error is one line
# ``kind: message``, its traceback only with --debug.
app = ErrorHandlingTyper(help="nianbao: China's open-government annual reports, crawled, "
                              "extracted, checked and loaded into a warehouse.",
                         no_args_is_help=True, add_completion=False)
console = Console(stderr=True)

_STATUS_STYLE = {"PASS": "green", "FAIL": "bold red", "UNCERTAIN": "yellow"}


@app.callback()
def main(debug: Annotated[bool, typer.Option(
        "--debug", help="Show the traceback of expected errors (locked, disk full, …) too.")
         ] = False) -> None:
    """nianbao command line."""
    set_debug(debug)


def _print_readable(report: Report, out: Console) -> None:
    out.rule(f"[bold]{report.file}")
    if report.error:
        out.print(f"  format {report.format}  sha256 {report.sha256[:12]}")
        out.print(f"  [bold red]error[/] {report.error}")
        return
    templates = ", ".join(f"{t} {v}" for t, v in report.templates.items()) or "none identified"
    found = sum(1 for c in report.cells.values() if c.value is not None)
    out.print(f"  agency    {report.agency or '[red]not identified[/]'}")
    out.print(f"  year      {report.year or '[red]not identified[/]'}")
    out.print(f"  format    {report.format} ({report.extractor} {report.extractor_version})")
    out.print(f"  templates {templates}")
    out.print(f"  cells     {len(report.cells)} found, {found} with a number, "
              f"{len(report.cells) - found} blank")
    summary = summarise(report.checks)
    out.print("  checks    " + "  ".join(f"[{_STATUS_STYLE[s]}]{rule} {s}[/]"
                                         for rule, s in sorted(summary.items())))
    for check in report.checks:
        if check.status.value == "FAIL":
            out.print(f"    [red]{check.rule} {check.subject}[/]: {check.message}")
    for note in report.notes:
        out.print(f"  [dim]note: {note}[/]")


@app.command()
def extract(
    files: Annotated[list[Path], typer.Argument(help="Documents: html, pdf, docx, doc, wps.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per document (JSON Lines).")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds allowed per document.")] = DOCUMENT_TIMEOUT,
    memory_mb: Annotated[int, typer.Option(
        help="Address space (MiB) each extraction worker may add to what it starts with.")
    ] = MEMORY_LIMIT // 1024 ** 2,
    workers: Annotated[int | None, typer.Option(
        help="Extraction worker processes (default: one per CPU).")] = None,
    debug_log: Annotated[Path | None, typer.Option(
        envvar="NIANBAO_DEBUG_LOG", help="Append library warnings (pdfminer, camelot) to this file; by default they are "
             "dropped, never printed.")] = None,
) -> None:
    """Extract the report tables of FILES and check them.

    Exits 0 when every file was read (quality failures are findings, not errors), 2 when any
    file could not be read; every file still gets its object, with a clear ``error`` and its
    ``error_code``. Files are read by a pool of worker processes, each document under the time
    and memory limits; the output keeps the order of FILES.
    """
    out = Console()
    unreadable = 0
    limits = Limits(timeout=timeout, memory=memory_mb * 1024 ** 2)
    count = min(len(files), workers or os.cpu_count() or 1)
    with Progress(console=console, transient=True, disable=len(files) < 2) as progress, \
            ExtractionPool(count, limits, debug_log) as pool:
        task = progress.add_task("extracting", total=len(files))
        for report in pool.map((path, None) for path in files):
            unreadable += report.error is not None
            if as_json:  # JSON Lines: one object per document, in the order given
                typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
            else:
                _print_readable(report, out)
            progress.advance(task)
    raise typer.Exit(2 if unreadable else 0)


@app.command()
def crawl(
    portals: Annotated[Path, typer.Option(help="A portal config (YAML) or a folder of them.")],
    data_dir: Annotated[Path, typer.Option(help="Raw store, warehouse and state.")] = Path("data"),
    delay: Annotated[float | None, typer.Option(
        help="Override every portal's delay in seconds (0 turns politeness off: test portals only).")
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
        console.print(f"[bold red]config error[/] {result.config_error}")
        raise typer.Exit(2)
    if as_json:
        for report in result.reports:
            typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        print_crawl_reports(result.reports, Console())
    raise typer.Exit(0 if result.ok else 3)


def print_crawl_reports(reports: list[dict], out: Console) -> None:
    from rich.table import Table

    table = Table(title="crawl reports")
    for column in ("portal", "status", "pages", "reports", "new", "unchanged", "decoys", "errors"):
        table.add_column(column)
    style = {"ok": "green", "partial": "yellow", "error": "bold red", "blocked": "yellow"}
    for r in reports:
        errors = ", ".join(f"{k} {len(v)}" for k, v in (r.get("errors") or {}).items())
        table.add_row(r["portal_id"], f"[{style.get(r['status'], '')}]{r['status']}[/]",
                      str(r.get("pages_fetched", "")), str(r.get("reports_found", "")),
                      str(r.get("documents_new", "")), str(r.get("documents_unchanged", "")),
                      str(r.get("decoys_skipped", "")), errors)
    out.print(table)
    for r in reports:
        if r["status"] != "ok":
            out.print(f"[bold]{r['portal_id']}[/]: {r.get('message', '')}")


@app.command()
def query(
    sql: Annotated[str | None, typer.Argument(
        help="DuckDB SQL over the views documents, reports, cells, quality, quality_history, "
             "runs, requests_wide, disclosure_wide, appeals_wide.")] = None,
    file: Annotated[Path | None, typer.Option(help="Read the SQL from this file.")] = None,
    data_dir: Annotated[Path, typer.Option(help="Raw store, warehouse and state.")] = Path("data"),
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Run read-only SQL over the warehouse (DuckDB). Statements that write, configure, attach
    or install are refused, and no file outside the warehouse can be read; ``nianbao export``
    writes files."""
    from warehouse.query import run_query

    if output not in ("table", "csv", "json"):
        raise typer.BadParameter("--format must be table, csv or json")
    if (sql is None) == (file is None):
        raise typer.BadParameter("give the SQL as an argument or with --file, not both")
    sql = sql if sql is not None else file.read_text(encoding="utf-8")
    result = run_query(data_dir, sql)
    columns, rows = result.columns, result.rows
    if output == "json":
        typer.echo(json.dumps([dict(zip(columns, r)) for r in rows], ensure_ascii=False,
                              default=str))
    elif output == "csv":
        import csv
        import sys

        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        from rich.table import Table

        table = Table(*columns)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        Console().print(table)


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="Folder for the Parquet snapshot.")],
    data_dir: Annotated[Path, typer.Option(help="Raw store, warehouse and state.")] = Path("data"),
) -> None:
    """Write the current canonical data as plain hive-partitioned Parquet, with datapackage.json."""
    from warehouse.export import export as write_export

    counts = write_export(data_dir, out)
    Console().print(", ".join(f"{name} {n} rows" for name, n in counts.items()) + f" -> {out}")


@app.command()
def rebuild(
    data_dir: Annotated[Path, typer.Option(help="Raw store, warehouse and state.")] = Path("data"),
    workers: Annotated[int | None, typer.Option(help="Parallel extractions.")] = None,
) -> None:
    """Re-extract every document in the raw store into the warehouse, without crawling.

    The warehouse lock is taken before any work and held to the end: a locked warehouse is
    refused at once, naming the live holder."""
    from flows.pipeline import candidates
    from flows.pipeline import rebuild as run_rebuild
    from flows.verify import record_quarantined
    from warehouse.load import new_run_id
    from warehouse.lock import check_unlocked, hold
    from warehouse.store import Warehouse

    started = datetime.now(timezone.utc)
    warehouse = Warehouse(data_dir)
    root, run_id = warehouse.root, new_run_id()
    warehouse.published()  # a lost or damaged pointer is refused before any work
    stale = check_unlocked(root)
    if stale:
        console.print(f"the lock of {stale.describe()} was stale (that process died holding "
                      "it); taking it over", soft_wrap=True)
    root.mkdir(parents=True, exist_ok=True)
    with hold(root, run_id):
        items = candidates(data_dir, only_new=False)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("re-extracting", total=len(items))
            result = run_rebuild(data_dir, workers, lambda _: progress.advance(task), items,
                                 run_id=run_id)
    for problem in record_quarantined(data_dir, result.run_id, started):
        console.print(f"[bold red]{problem.kind}[/] {problem.subject}: {problem.message}")
    Console().print(f"run {result.run_id}: {result.reports_loaded} reports loaded, "
                    f"{result.reports_unchanged} unchanged, {result.reports_unreadable} "
                    f"unreadable, {result.cells_loaded} cells; quality: {result.quality_fail} "
                    f"FAIL, {result.quality_uncertain} UNCERTAIN")


@app.command()
def verify(
    data_dir: Annotated[Path, typer.Option(help="Raw store, warehouse and state.")] = Path("data"),
    repair: Annotated[bool, typer.Option(
        "--repair", help="Republish the latest consistent versions from the Delta history "
                         "(never deletes).")] = False,
) -> None:
    """Check the raw store, its manifest and the published warehouse snapshot (an fsck).

    Every object is hashed against its name (a damaged one is quarantined, never deleted, and
    fetched again by the next crawl), every manifest row must have its object, the published
    pointer must match the Delta logs and every table must read to the end. Prints each problem
    with what to do; exits 1 when there is any, 0 when there is none, 2 without a data dir.
    """
    from flows.verify import verify as run_verify
    from warehouse.store import WarehouseLocked

    if not data_dir.is_dir():
        console.print(f"[bold red]no data dir[/] {data_dir} does not exist (see --data-dir)")
        raise typer.Exit(2)
    try:
        report = run_verify(data_dir, repair_snapshot=repair)
    except WarehouseLocked as exc:  # --repair waits for no load: it is refused like a load
        from rich.markup import escape

        console.print(f"[bold red]locked[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    if report.republished is not None:
        typer.echo("republished " + ", ".join(f"{name} v{version}" for name, version
                                              in sorted(report.republished.items())))
    if report.repair_found_nothing:
        typer.echo("repair: the Delta history holds no completed load to publish")
    for problem in report.problems:
        typer.echo(problem.line())
    typer.echo(f"{report.objects_checked} objects, {report.manifest_rows} manifest rows, "
               f"{report.tables_checked} tables checked: {len(report.problems)} problems")
    raise typer.Exit(1 if report.problems else 0)


@app.command()
def datadict(
    out: Annotated[Path, typer.Option(help="Folder for data-dictionary.md and "
                                           "datapackage.json.")] = Path("docs"),
) -> None:
    """Write the data dictionary (from warehouse/schema.py)."""
    from warehouse.export import data_dictionary_markdown, datapackage

    out.mkdir(parents=True, exist_ok=True)
    (out / "data-dictionary.md").write_text(data_dictionary_markdown(), encoding="utf-8")
    (out / "datapackage.json").write_text(json.dumps(datapackage(), ensure_ascii=False, indent=2)
                                          + "\n", encoding="utf-8")
    Console().print(f"wrote {out / 'data-dictionary.md'} and {out / 'datapackage.json'}")


@app.command()
def run(
    portals: Annotated[Path, typer.Option(help="A portal config (YAML) or a folder of them.")],
    data_dir: Annotated[Path, typer.Option(help="Raw store, warehouse and state.")] = Path("data"),
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


def print_run(result: dict, out: Console) -> None:
    from rich.table import Table

    from flows.summary import percent

    print_crawl_reports(result["crawl_reports"], out)
    out.print(f"run {result['run_id']}: {result['documents_extracted']} documents extracted, "
              f"{result['reports_new']} reports new, {result['reports_unreadable']} unreadable, "
              f"{result['documents_skipped']} skipped")
    rates = Table("rule", "PASS", "FAIL", "UNCERTAIN", "pass rate", title="quality by rule")
    for r in result["pass_rates"]:
        rates.add_row(r["rule"], str(r["pass"]), str(r["fail"]), str(r["uncertain"]),
                      percent(r))
    out.print(rates)
    failures = result["failures"]
    table = Table("portal", "agency", "year", "rule", "subject", "expected", "observed",
                  title=f"quality failures ({len(failures)}; the first 20)")
    for f in failures[:20]:
        table.add_row(*("" if f[k] is None else str(f[k]) for k in
                        ("portal", "agency", "year", "rule", "subject", "expected", "observed")))
    out.print(table)


@app.command()
def serve(
    portals: Annotated[Path, typer.Option(help="Portal configs to crawl each night.")] = Path(
        "crawlers/portals"),
    data_dir: Annotated[Path, typer.Option(help="Raw store, warehouse and state.")] = Path("data"),
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
    import os
    import time
    import urllib.request

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
                console.print(f"[bold red]no Prefect API at {url} after {seconds:.0f} s[/]")
                raise typer.Exit(1) from None
            time.sleep(1)


app.command(name="discover")(discover)
app.command(name="try")(try_portal)
app.command(name="report")(report)  # the body: flows/cli_report.py

if __name__ == "__main__":
    app()
