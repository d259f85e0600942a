"""The ``nianbao`` command line (docs/design.md lists the commands).

The commands' bodies live in flows/cli_*.py (crawl, query/export, run/serve, discover, try,
report) and here (extract, rebuild, verify, datadict); options several commands share are in
flows/cli_options.py. Prefect's environment is set as this module loads (flows/prefect_env.py),
before any command imports Prefect.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from extract import Report
from extract.limits import DOCUMENT_TIMEOUT, MEMORY_LIMIT, ExtractionPool, Limits
from extract.model import summarise
from flows.cli_crawl import crawl
from flows.cli_discover import discover
from flows.cli_options import DEFAULT_DATA_DIR, DataDir
from flows.cli_query import export, query
from flows.cli_report import report
from flows.cli_run import run, serve
from flows.cli_try import try_portal
from flows.errors import ErrorHandlingTyper, set_debug
from flows.prefect_env import apply_prefect_env

apply_prefect_env()

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
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON object per document (JSON Lines).")] = False,
    timeout: Annotated[float, typer.Option(
        help="Seconds allowed per document.")] = DOCUMENT_TIMEOUT,
    memory_mb: Annotated[int, typer.Option(
        help="Address space (MiB) each extraction worker may add to what it starts with.")
    ] = MEMORY_LIMIT // 1024 ** 2,
    workers: Annotated[int | None, typer.Option(
        help="Extraction worker processes (default: one per CPU).")] = None,
    debug_log: Annotated[Path | None, typer.Option(
        envvar="NIANBAO_DEBUG_LOG",
        help="Append library warnings (pdfminer, camelot) to this file; by default they are "
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


# The commands in the order ``nianbao --help`` lists them.
app.command(name="crawl")(crawl)  # the body: flows/cli_crawl.py
app.command(name="query")(query)  # flows/cli_query.py
app.command(name="export")(export)


@app.command()
def rebuild(
    data_dir: DataDir = DEFAULT_DATA_DIR,
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

    started = datetime.now(UTC)
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
    data_dir: DataDir = DEFAULT_DATA_DIR,
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


app.command(name="run")(run)  # flows/cli_run.py
app.command(name="serve")(serve)
app.command(name="discover")(discover)
app.command(name="try")(try_portal)
app.command(name="report")(report)  # the body: flows/cli_report.py

if __name__ == "__main__":
    app()
