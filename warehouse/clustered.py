"""Reading only the files of a table that can hold some values of its cluster column.

A table with ``cluster_by`` (``reports`` and ``agencies``; the wide tables inside each partition)
is written sorted by it, and each file's add action records its exact min, max and null count of
the first cluster column (``data_files``; delta-rs records a truncated min and a rounded-up max,
bounds just as safe). A load that changes a few agencies reads the files whose [min, max] holds
one of them, not the whole table: at 1M reports a nightly load's agencies are in a few dozen of
its files.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable

from warehouse.schema import TABLES


@dataclass(frozen=True)
class FileRange:
    """One file: its rows, and the min, max and null count of the cluster column."""

    rows: int
    low: str | None
    high: str | None
    nulls: int

    def may_hold(self, wanted: list[str], null: bool = False) -> bool:
        """Whether a row may hold one of ``wanted`` (sorted), or a null if ``null``."""
        at = bisect_left(wanted, self.low) if self.low is not None else len(wanted)
        return (null and self.nulls > 0) or (at < len(wanted) and wanted[at] <= self.high)


def file_ranges(delta: DeltaTable | None, root, table: str, actions: pa.Table | None = None
                ) -> dict[str, FileRange] | None:
    """Absolute path -> ``FileRange`` of every file of ``delta`` (``table`` under ``root``; its
    add ``actions``, if read already); None when a file lacks the statistics (written before
    them: nothing can be ruled out) or the files alone do not give the table (deletion vectors,
    column mapping)."""
    if delta is None:
        return None
    protocol = delta.protocol()
    if protocol.min_reader_version > 1 or protocol.reader_features:
        return None
    column = TABLES[table].cluster_by[0]
    if actions is None:
        actions = pa.table(delta.get_add_actions(flatten=True))
    needed = [f"min.{column}", f"max.{column}", f"null_count.{column}"]
    if not all(name in actions.column_names for name in needed):
        return None
    out = {}
    for relative, rows, low, high, nulls in zip(
            actions["path"].to_pylist(), actions["num_records"].to_pylist(),
            *(actions[name].to_pylist() for name in needed), strict=True):
        if rows is None or nulls is None or (low is None and nulls < rows):
            return None
        out[f"{root}/{relative}"] = FileRange(rows, low, high, nulls)
    return out


def read_holding(warehouse, table: str, values: set[str | None],
                 columns: list[str] | None = None, *, only_matching: bool = False
                 ) -> tuple[pa.Table, list[tuple[str, int]]] | None:
    """The rows (their ``columns``) of every published file of ``table`` whose cluster column
    may hold one of ``values`` (None: a null), file after file, and (path, rows read) of each
    file in that order, as ``Warehouse.read_by_file`` gives them for all files; with
    ``only_matching``, only the rows that do hold one (the row groups of the others, sorted
    apart, unread). None when the table cannot be read this way (written with other columns,
    deletion vectors, or files without statistics of the column: the caller reads it whole)."""
    definition = TABLES[table]
    delta = warehouse.delta(table)
    if delta is None or definition.partition_by or (
            [f.name for f in delta.schema().fields] != definition.schema.names):
        return None
    ranges = file_ranges(delta, warehouse.path(table), table,
                         warehouse.actions(table))
    if ranges is None:
        return None
    wanted = sorted(v for v in values if v is not None)
    chosen = [(path, r.rows) for path, r in ranges.items() if r.may_hold(wanted, None in values)]
    if not chosen:
        return definition.schema.empty_table().select(columns or definition.schema.names), []
    dataset = ds.dataset([path for path, _ in chosen], schema=definition.schema,
                         format="parquet")
    if not only_matching:
        return dataset.to_table(columns=columns), chosen
    column = pc.field(definition.cluster_by[0])
    holds = column.isin(pa.array(wanted, pa.string()))
    holds = holds | column.is_null() if None in values else holds
    parts = [fragment.to_table(columns=columns, filter=holds, schema=definition.schema)
             for fragment in dataset.get_fragments()]  # (in the order of ``chosen``)
    return pa.concat_tables(parts), [(path, part.num_rows) for (path, _), part in zip(
        chosen, parts, strict=True)]
