"""The writes of one load (``Warehouse.transaction`` makes it): each records the table's new
Delta version, which the load publishes at its end (see ``store.py``)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import (
    BloomFilterProperties,
    ColumnProperties,
    CommitProperties,
    DeltaTable,
    WriterProperties,
    write_deltalake,
)
from deltalake.transaction import RemoveAction

from warehouse.data_files import write_files
from warehouse.schema import TABLES

if TYPE_CHECKING:
    from warehouse.store import Warehouse

# A Bloom filter of report_id in each row group: report ids are hashes, so min/max rule out
# nothing, and W4, which reads the cells of a few reports, would scan every row group of their
# years (1.3 s at 10M reports); DuckDB skips the row groups whose filter lacks them. (Sized for
# a row group of cells: ~1M rows, ~4,700 reports.)
WRITER = WriterProperties(compression="ZSTD", compression_level=3, column_properties={
    "report_id": ColumnProperties(bloom_filter_properties=BloomFilterProperties(
        True, fpp=0.01, ndv=8192))})
LAST_WRITE = "nianbao_last_write"  # commit metadata: this commit ended a transaction


class Transaction:
    """Writes of one load; each records the table's new Delta version for publication."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.versions: dict[str, int] = {}

    def path(self, table: str) -> Path:
        return self.warehouse.path(table)

    def delta(self, table: str) -> DeltaTable | None:
        """The table at the version this load has written (else as published)."""
        if table not in self.versions:
            return self.warehouse.delta(table)
        return self.warehouse.delta_at(table, self.versions[table])

    def files(self, table: str) -> list[tuple[str, dict]] | None:
        """Like ``Warehouse.files``, at the version this load has written."""
        if table not in self.versions:
            return self.warehouse.files(table)
        return self.warehouse.files_at(table, self.versions[table])

    def actions(self, table: str) -> pa.Table | None:
        """The add actions of the table at the version this load has written (else as
        published), read once."""
        version = self.versions.get(table, self.warehouse.published().get(table))
        return None if version is None else self.warehouse.actions_at(table, version)

    def dataset(self, table: str) -> ds.Dataset:
        """The table as this load has written it so far (not yet published)."""
        if table in self.versions:
            return self.warehouse.delta_at(table, self.versions[table]).to_pyarrow_dataset()
        return self.warehouse.dataset(table)

    def _done(self, table: str) -> None:
        self.versions[table] = latest_version(self.warehouse.path(table))

    def _to_commit(self, table: str) -> DeltaTable:
        """The table at its newest version, to commit to: the one opened already (opening one
        replays the Delta log; delta-rs leaves a table it commits through at its version)."""
        version = self.versions.get(table, self.warehouse.published().get(table))
        if version is None or version != latest_version(self.warehouse.path(table)):
            return DeltaTable(self.warehouse.path(table))
        return self.warehouse.delta_at(table, version)

    def _conform(self, table: str, data: pa.Table) -> pa.Table:
        data = data.select(TABLES[table].schema.names).cast(TABLES[table].schema)
        cluster = TABLES[table].cluster_by
        return data.sort_by([(c, "ascending") for c in cluster]) if cluster else data

    def append(self, table: str, data: pa.Table | pa.RecordBatchReader, *,
               last: bool = False) -> None:
        """Append rows; ``last``: this write ends the transaction (a repair may publish the
        state right after it; a load's append to ``runs`` is known as its last anyway)."""
        if isinstance(data, pa.Table):
            if not data.num_rows and DeltaTable.is_deltatable(str(self.warehouse.path(table))):
                return
            data = self._conform(table, data)
        write_deltalake(self.warehouse.path(table), data, mode="append",
                        partition_by=list(TABLES[table].partition_by) or None,
                        schema_mode="merge",  # a column added since (cells.ocr_confidence)
                        writer_properties=WRITER, commit_properties=CommitProperties(
                            custom_metadata={LAST_WRITE: "true"}) if last else None)
        self._done(table)

    def replace(self, table: str, data: pa.Table | pa.RecordBatchReader,
                metadata: dict[str, str] | None = None) -> None:
        """The table's whole content, as one new version (small tables: ``reports``). A MERGE
        would rewrite only the touched files, but delta-rs writes them with string_view columns
        that pyarrow datasets then fail to filter. The table takes the current definition's
        schema (a column added since it was written, e.g. reports.agency_id)."""
        if isinstance(data, pa.Table):
            data = self._conform(table, data)
        write_deltalake(self.warehouse.path(table), data, mode="overwrite",
                        partition_by=list(TABLES[table].partition_by) or None,
                        writer_properties=WRITER, schema_mode="overwrite",
                        commit_properties=CommitProperties(custom_metadata=metadata)
                        if metadata else None)
        self._done(table)

    def rewrite(self, table: str, data: pa.Table, metadata: dict[str, str] | None = None
                ) -> None:
        """The table's whole content written like ``replace_files`` writes (files of
        ``data_files.FILE_ROWS`` rows a later load can rewrite one by one, with their cluster
        statistics); a table written with other columns, or whose files alone do not give it, is
        emptied by delta-rs first (taking the current columns), in the same load."""
        if not DeltaTable.is_deltatable(str(self.warehouse.path(table))):
            self.replace_files(table, [], [data], metadata=metadata)
            return
        delta = self.warehouse.delta(table) if table not in self.versions else (
            self.warehouse.delta_at(table, self.versions[table]))
        files = self.files(table) if delta is not None else None
        if TABLES[table].partition_by:
            self.replace(table, data, metadata)
            return
        if files is None or [f.name for f in delta.schema().fields] != (
                TABLES[table].schema.names):
            self.replace(table, TABLES[table].schema.empty_table())
            files = []
        self.replace_files(table, [path for path, _ in files], [data], metadata=metadata)

    def write_partitions(self, table: str, chunks: Iterable[pa.Table], column: str,
                         values: set[int] | None = None) -> None:
        """Replace the partitions ``column IN values`` (all of the table if None) with the rows
        of ``chunks``, as one new version: the other partitions' files stay as they are.

        The files are written by pyarrow (``data_files.write_files``) and committed to Delta as add
        actions: delta-rs's own writer sets up each partition's writer at a cost that, for a
        table with hundreds of columns, was most of a load."""
        path, schema = self.warehouse.path(table), TABLES[table].schema
        if values is None or not DeltaTable.is_deltatable(str(path)):
            # the whole table: emptied (and given the current columns) first, in this load
            write_deltalake(path, schema.empty_table(), mode="overwrite", partition_by=[column],
                            writer_properties=WRITER, schema_mode="overwrite")
        adds = write_files(self.warehouse.path(table),
                           (self._conform(table, c) for c in chunks), column,
                           TABLES[table].cluster_by)
        if values is None:
            self._to_commit(table).create_write_transaction(adds, mode="append", schema=schema,
                                                            partition_by=[column])
        else:
            self._to_commit(table).create_write_transaction(
                adds, mode="overwrite", schema=schema, partition_by=[column],
                partition_filters=[(column, "in", [str(v) for v in sorted(values)])])
        self._done(table)

    def replace_files(self, table: str, remove: list[str], chunks: Iterable[pa.Table],
                      column: str | None = None, metadata: dict[str, str] | None = None
                      ) -> None:
        """One new version in which the files ``remove`` (absolute paths, as ``files`` gives
        them) are gone and the rows of ``chunks`` are in new files: every other file stays,
        so a load that changes a few agencies rewrites only the files holding them.
        ``metadata`` goes to the commit, which is then made even when nothing changed."""
        path, schema = self.warehouse.path(table), TABLES[table].schema
        if not DeltaTable.is_deltatable(str(path)):
            write_deltalake(path, schema.empty_table(), partition_by=[column] if column else None,
                            writer_properties=WRITER)
        adds = write_files(self.warehouse.path(table),
                           (self._conform(table, c) for c in chunks), column,
                           TABLES[table].cluster_by)
        now = int(datetime.now(UTC).timestamp() * 1000)
        removes = []
        for absolute in remove:
            relative = Path(absolute).relative_to(path).as_posix()
            values = {column: relative.split("/", 1)[0].split("=", 1)[1]} if column else {}
            removes.append(RemoveAction(relative, True, now, (path / relative).stat().st_size,
                                        values))
        if not adds and not removes and not metadata:
            return
        self._to_commit(table).create_write_transaction(
            [*removes, *adds], mode="append", schema=schema,
            partition_by=[column] if column else None,
            commit_properties=CommitProperties(custom_metadata=metadata) if metadata else None)
        self._done(table)


def files_of(delta: DeltaTable | None, root: Path, partition_by: tuple[str, ...],
             actions: pa.Table | None = None) -> list[tuple[str, dict]] | None:
    """(absolute path, partition values) of each file of ``delta`` (its add ``actions``, if
    read already); None when its files alone do not give the table (deletion vectors, column
    mapping)."""
    if delta is None:
        return []
    protocol = delta.protocol()
    if protocol.min_reader_version > 1 or protocol.reader_features:
        return None  # deletion vectors or column mapping: only a Delta reader reads it right
    if actions is None:
        actions = pa.table(delta.get_add_actions(flatten=True))
    paths = actions["path"].to_pylist()
    # (a partition column the files lack: written under an earlier layout, see views.py)
    parts = {name: actions[f"partition.{name}"].to_pylist() for name in partition_by
             if f"partition.{name}" in actions.column_names}
    folder = f"{root}/"  # (strings, not Path: a table of 10M reports has thousands of files)
    return [(folder + path, {name: values[n] for name, values in parts.items()})
            for n, path in enumerate(paths)]


def latest_version(path: Path) -> int | None:
    """The newest version of the Delta table at ``path``, from the names of its commit files
    (opening the table replays its log: ~40 ms for a wide table of 1,300 files)."""
    try:
        names = os.listdir(Path(path) / "_delta_log")
    except FileNotFoundError:
        return None
    return max((int(name[:20]) for name in names
                if len(name) == 25 and name.endswith(".json") and name[:20].isdigit()),
               default=None)
