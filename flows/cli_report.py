"""``nianbao report``: the researchers' static HTML report (figures, their SQL and rows)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_options import DEFAULT_DATA_DIR, DataDir


class NoWarehouse(FileNotFoundError):
    """The data dir holds no warehouse to report on."""

    kind = "no_warehouse"


def report(
    out: Annotated[Path, typer.Option(help="Folder for index.html and its images.")] = Path(
        "data/report"),
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Write a static HTML report (coverage, applications, outcomes, appeals, arithmetic
    failures), each figure with the SQL of docs/queries/ that made it; prints the page's path."""
    from warehouse.report import write_report

    if not data_dir.is_dir():
        raise NoWarehouse(f"no data dir {data_dir}: run `nianbao run` or `nianbao rebuild` first, "
                          "or give --data-dir")
    page = write_report(data_dir, out)
    typer.echo(str(page))
