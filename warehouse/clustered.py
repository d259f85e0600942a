"""Reading only the files of a table that can hold some values of its cluster column.

A table with ``cluster_by`` (``reports``: ``agency_of``) is written sorted by that column, and
each file's add action records its exact min, max and null count of it (``data_files``;
delta-rs records a truncated min and a rounded-up max, bounds just as safe). A load that changes
a few agencies reads the files whose [min, max] holds one of them, not the whole table: at 1M
reports a nightly load's agencies are in a few dozen of its files.
"""

from __future__ import annotations

from bisect import bisect_left

import pyarrow as pa
import pyarrow.dataset as ds

from warehouse.schema import TABLES


def read_holding(warehouse, table: str, values: set[str | None],
                 columns: list[str] | None = None
                 ) -> tuple[pa.Table, list[tuple[str, int]]] | None:
    """The rows (their ``columns``) of every published file of ``table`` whose cluster column
    may hold one of ``values`` (None: a null), file after file, and (path, rows) of each file
    in that order, as ``Warehouse.read_by_file`` gives them for all files; None when the table
    cannot be read this way (written with other columns, deletion vectors, or files without
    statistics of the column: the caller reads it whole)."""
    definition = TABLES[table]
    (column,) = definition.cluster_by
    delta, files = warehouse.delta(table), warehouse.files(table)
    if delta is None or not files or definition.partition_by or (
            [f.name for f in delta.schema().fields] != definition.schema.names):
        return None
    actions = pa.table(delta.get_add_actions(flatten=True))
    needed = [f"min.{column}", f"max.{column}", f"null_count.{column}"]
    if not all(name in actions.column_names for name in needed):
        return None
    wanted, root = sorted(v for v in values if v is not None), warehouse.path(table)
    chosen = []
    for relative, rows, low, high, nulls in zip(
            actions["path"].to_pylist(), actions["num_records"].to_pylist(),
            *(actions[name].to_pylist() for name in needed), strict=True):
        if rows is None or nulls is None or (low is None and nulls < rows):
            return None  # a file without the statistics: nothing can be ruled out
        at = bisect_left(wanted, low) if low is not None else len(wanted)
        if (None in values and nulls) or (at < len(wanted) and wanted[at] <= high):
            chosen.append((str(root / relative), rows))
    if not chosen:
        return definition.schema.empty_table().select(columns or definition.schema.names), []
    data = ds.dataset([path for path, _ in chosen], schema=definition.schema,
                      format="parquet").to_table(columns=columns)
    return data, chosen
