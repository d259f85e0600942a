"""Options shared by the ``nianbao`` commands."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

# Every command that reads or writes the data dir takes it the same way:
# ``data_dir: DataDir = DEFAULT_DATA_DIR``.
DataDir = Annotated[Path, typer.Option("--data-dir", help="Raw store, warehouse and state.")]
DEFAULT_DATA_DIR = Path("data")

# A portal config (YAML) or a folder of them.
Portals = Annotated[Path, typer.Option(help="A portal config (YAML) or a folder of them.")]


class OutputFormat(str, Enum):
    """How ``nianbao query`` prints its rows."""

    table = "table"
    csv = "csv"
    json = "json"
