"""``nianbao query`` (read-only SQL over the warehouse) and ``nianbao export`` (a Parquet
snapshot)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from flows.cli_options import DEFAULT_DATA_DIR, DataDir, OutputFormat


def query(
    sql: Annotated[str | None, typer.Argument(
        help="DuckDB SQL over the views documents, reports, cells, quality, quality_history, "
             "runs, requests_wide, disclosure_wide, appeals_wide.")] = None,
    file: Annotated[Path | None, typer.Option(help="Read the SQL from this file.")] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    output: Annotated[OutputFormat, typer.Option("--format", help="How to print the rows.")
                      ] = OutputFormat.table,
) -> None:
    """Run read-only SQL over the warehouse (DuckDB). Statements that write, configure, attach
    or install are refused, and no file outside the warehouse can be read; ``nianbao export``
    writes files."""
    from warehouse.query import run_query

    if (sql is None) == (file is None):
        raise typer.BadParameter("give the SQL as an argument or with --file, not both")
    sql = sql if sql is not None else file.read_text(encoding="utf-8")
    result = run_query(data_dir, sql)
    columns, rows = result.columns, result.rows
    if output is OutputFormat.json:
        typer.echo(json.dumps([dict(zip(columns, r)) for r in rows], ensure_ascii=False,
                              default=str))
    elif output is OutputFormat.csv:
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


def export(
    out: Annotated[Path, typer.Argument(help="Folder for the Parquet snapshot.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Write the current canonical data as plain hive-partitioned Parquet, with datapackage.json."""
    from warehouse.export import export as write_export

    counts = write_export(data_dir, out)
    Console().print(", ".join(f"{name} {n} rows" for name, n in counts.items()) + f" -> {out}")
