"""The warehouse on disk: Delta Lake tables under ``DATA_DIR/warehouse/`` plus a published snapshot.

Each Delta commit is atomic for its table. A load writes several tables, so readers see the
*published* versions: ``_published.json`` names one Delta version per table and is replaced
atomically at the end of a load. A load killed midway leaves commits nobody reads; the next load
rolls those tables back to the published versions before writing (a Delta restore or an empty
overwrite: new versions, so the Delta history keeps every row); a load that fails (a full disk,
say) removes the files it wrote. One load at a time: a second one is refused with a message
naming the live holder of the lock (``lock.py``).

Tables without a readable pointer are never guessed at: a missing or damaged ``_published.json``
next to existing tables makes every read and load refuse (``PublishedMissing``,
``PublishedDamaged``) until ``nianbao verify --repair`` republishes from the Delta history.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake.exceptions import DeltaError
from deltalake.transaction import RemoveAction

from warehouse.data_files import write_files
from warehouse.failed_load import DiskFull, FilesBefore, is_disk_full
from warehouse.lock import WarehouseLocked, hold
from warehouse.schema import TABLES

__all__ = ["Transaction", "Warehouse", "WarehouseLocked"]

WRITER = WriterProperties(compression="ZSTD", compression_level=3)
POINTER = "_published.json"
LAST_WRITE = "nianbao_last_write"  # commit metadata: this commit ended a transaction


REPAIR_HINT = ("nothing was read or written; run `nianbao verify --repair` to republish the "
               "latest consistent versions from the Delta history")


class SnapshotError(RuntimeError):
    """The published snapshot cannot be read. ``kind`` is stable, ``detail`` says what is
    wrong; the message adds what to do."""

    kind = "snapshot_error"

    def __init__(self, detail: str) -> None:
        super().__init__(f"{detail}; {REPAIR_HINT}")
        self.detail = detail


class PublishedMissing(SnapshotError):
    """Tables exist but ``_published.json`` does not."""

    kind = "published_missing"


class PublishedDamaged(SnapshotError):
    """``_published.json`` exists but is not a valid pointer."""

    kind = "published_damaged"


class Warehouse:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "warehouse"

    def path(self, table: str) -> Path:
        return self.root / table

    @property
    def pointer(self) -> Path:
        return self.root / POINTER

    def delta_tables(self) -> list[str]:
        """Tables that exist on disk as Delta tables, published or not."""
        return [name for name in TABLES if DeltaTable.is_deltatable(str(self.path(name)))]

    def transaction_ends(self) -> list[dict]:
        """Delta commits that ended a transaction, newest first: each append to ``runs`` (the
        last write of every load) and each write marked ``LAST_WRITE`` (a transaction of one
        write, such as recording findings). Each carries the ``table`` it was made to."""
        ends = []
        for name in self.delta_tables():
            for commit in DeltaTable(self.path(name)).history():
                appended = (commit.get("operation") == "WRITE" and str(
                    commit.get("operationParameters", {}).get("mode", "")).lower() == "append")
                if (name == "runs" and appended) or commit.get(LAST_WRITE):
                    ends.append({**commit, "table": name})
        return sorted(ends, key=lambda c: (c["timestamp"], c["table"] == "runs"), reverse=True)

    def published(self) -> dict[str, int]:
        """The published Delta version of each table ({} before the first load).

        Raises ``PublishedMissing`` when a load completed but no pointer exists and
        ``PublishedDamaged``
        when the pointer cannot be read: answering from no snapshot would show 0 rows, and a
        load would treat every table as unpublished."""
        try:
            text = self.pointer.read_text(encoding="utf-8")
        except FileNotFoundError:
            existing = self.delta_tables()
            if self.transaction_ends():  # not merely a first load killed before it published
                raise PublishedMissing(
                    f"{self.pointer} is missing but the warehouse holds tables "
                    f"({', '.join(existing)})") from None
            return {}
        try:
            tables = parse_pointer(text)
        except ValueError as exc:
            raise PublishedDamaged(f"{self.pointer} is damaged ({exc})") from None
        return tables

    def exists(self) -> bool:
        return bool(self.published())

    def delta(self, table: str) -> DeltaTable | None:
        version = self.published().get(table)
        if version is None:
            return None
        try:
            return DeltaTable(self.path(table), version=version)
        except (DeltaError, OSError) as exc:
            raise PublishedDamaged(f"{self.pointer} names version {version} of {table}, which "
                                   f"cannot be opened ({_first_line(exc)})") from None

    def dataset(self, table: str) -> ds.Dataset:
        """The table at its published version (an empty dataset before the first load)."""
        delta = self.delta(table)
        if delta is None:
            return ds.dataset(pa.Table.from_batches([], schema=TABLES[table].schema))
        return delta.to_pyarrow_dataset()

    def files(self, table: str) -> list[tuple[str, dict]] | None:
        """(absolute path, partition values) of every Parquet file of the published version, or
        None when the files alone do not give the table: DuckDB can then read them directly."""
        return _files(self.delta(table), self.path(table), TABLES[table].partition_by)

    def commit_metadata(self, table: str) -> dict:
        """The commit information of the table's published version ({} before one)."""
        delta = self.delta(table)
        return delta.history(1)[0] if delta is not None else {}

    def read(self, table: str, columns: list[str] | None = None) -> pa.Table:
        return self.dataset(table).to_table(columns=columns)

    def read_by_file(self, table: str, columns: list[str] | None = None
                     ) -> tuple[pa.Table, list[tuple[str, int]]] | None:
        """The table's rows (their ``columns``) file after file, and (path, rows) of each file
        in that order, so a load can rewrite only the files whose rows it changes; None when
        the files alone do not give the table or were written with other columns than its
        definition's."""
        files, delta = self.files(table), self.delta(table)
        if not files or TABLES[table].partition_by or (
                [f.name for f in delta.schema().fields] != TABLES[table].schema.names):
            return None
        paths = [path for path, _ in files]
        data = ds.dataset(paths, schema=TABLES[table].schema, format="parquet").to_table(
            columns=columns)
        return data, [(path, pq.read_metadata(path).num_rows) for path in paths]

    @contextmanager
    def transaction(self, run_id: str) -> Iterator[Transaction]:
        """A load: exclusive, rolled back to the published state first, published at the end.

        When it fails, the files it wrote are removed and the published snapshot is as it was;
        a full disk is raised as ``DiskFull``."""
        self.root.mkdir(parents=True, exist_ok=True)
        with hold(self.root, run_id, load=True):
            try:
                if not self.pointer.exists() and not self.delta_tables():
                    # an empty pointer first: once tables exist, a missing pointer means it was lost
                    self._write_pointer({}, run_id)
                published = self._roll_back_unpublished()
                before = FilesBefore(self.root)
            except Exception as exc:
                if is_disk_full(exc):
                    raise DiskFull(self.root, f"rolling back unpublished commits before run "
                                              f"{run_id}; nothing was published") from exc
                raise
            try:
                tx = Transaction(self)
                yield tx
                self._write_pointer({**published, **tx.versions}, run_id)
            except BaseException as exc:
                try:
                    cleaned = f"its {len(before.remove_new())} files were removed"
                except OSError as cleanup:
                    cleaned = f"its files could not all be removed ({cleanup})"
                    exc.add_note(cleaned)
                if is_disk_full(exc):
                    raise DiskFull(self.root, f"load of run {run_id} stopped; {cleaned} and the "
                                              "published snapshot is unchanged") from exc
                raise

    def _roll_back_unpublished(self) -> dict[str, int]:
        """Every table back at its published version; returns the published versions."""
        published = self.published()
        for name, version in published.items():  # all checked before anything is rolled back
            if not DeltaTable.is_deltatable(str(self.path(name))) or (
                    version > DeltaTable(self.path(name)).version()):
                raise PublishedDamaged(f"{self.pointer} names version {version} of {name}, "
                                       "which its Delta log does not hold")
        for name in TABLES:
            path = self.path(name)
            if not DeltaTable.is_deltatable(str(path)):
                if path.exists():
                    shutil.rmtree(path)  # files of a first write killed before its first commit
                continue
            if name not in published:  # created by a load that never published: emptied, as a
                # new version, so its rows stay in the Delta history
                write_deltalake(path, TABLES[name].schema.empty_table(), mode="overwrite",
                                partition_by=list(TABLES[name].partition_by) or None,
                                writer_properties=WRITER)
            elif DeltaTable(path).version() != published[name]:
                DeltaTable(path).restore(published[name])
            else:
                continue
            published[name] = DeltaTable(path).version()
            self._write_pointer(published, "rollback")
        return published

    def publish(self, versions: dict[str, int], run_id: str) -> None:
        """Replace the pointer with exactly ``versions`` (``nianbao verify --repair``)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with hold(self.root, run_id, load=True):
            self._write_pointer(versions, run_id)

    def _write_pointer(self, tables: dict[str, int], run_id: str) -> None:
        text = json.dumps({"tables": tables, "run_id": run_id,
                           "published_at": datetime.now(UTC).isoformat()}, indent=2)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".published-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.root / POINTER)
        directory = os.open(self.root, os.O_RDONLY)
        try:  # the rename itself survives a power cut only once the directory is synced
            os.fsync(directory)
        finally:
            os.close(directory)


class Transaction:
    """Writes of one load; each records the table's new Delta version for publication."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.versions: dict[str, int] = {}

    def files(self, table: str) -> list[tuple[str, dict]] | None:
        """Like ``Warehouse.files``, at the version this load has written."""
        if table not in self.versions:
            return self.warehouse.files(table)
        delta = DeltaTable(self.warehouse.path(table), version=self.versions[table])
        return _files(delta, self.warehouse.path(table), TABLES[table].partition_by)

    def dataset(self, table: str) -> ds.Dataset:
        """The table as this load has written it so far (not yet published)."""
        if table in self.versions:
            return DeltaTable(self.warehouse.path(table),
                              version=self.versions[table]).to_pyarrow_dataset()
        return self.warehouse.dataset(table)

    def _done(self, table: str) -> None:
        self.versions[table] = DeltaTable(self.warehouse.path(table)).version()

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
        """The table's whole content, as one new version written like ``replace_files``
        writes (files of ``data_files.FILE_ROWS`` rows a later load can rewrite one by one); a table
        not yet written or written with other columns is replaced by delta-rs instead."""
        if not DeltaTable.is_deltatable(str(self.warehouse.path(table))):
            self.replace_files(table, [], [data], metadata=metadata)
            return
        delta = self.warehouse.delta(table) if table not in self.versions else DeltaTable(
            self.warehouse.path(table), version=self.versions[table])
        files = self.files(table) if delta is not None else None
        if files is None or TABLES[table].partition_by or (
                [f.name for f in delta.schema().fields] != TABLES[table].schema.names):
            self.replace(table, data, metadata)
            return
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
            DeltaTable(path).create_write_transaction(adds, mode="append", schema=schema,
                                                      partition_by=[column])
        else:
            DeltaTable(path).create_write_transaction(
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
        DeltaTable(path).create_write_transaction(
            [*removes, *adds], mode="append", schema=schema,
            partition_by=[column] if column else None,
            commit_properties=CommitProperties(custom_metadata=metadata) if metadata else None)
        self._done(table)

def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def parse_pointer(text: str) -> dict[str, int]:
    """The ``tables`` of a pointer's text; ``ValueError`` saying what is wrong with it."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno}") from None
    tables = document.get("tables") if isinstance(document, dict) else None
    if not isinstance(tables, dict):
        raise ValueError("no \"tables\" object")
    for name, version in tables.items():
        if name not in TABLES:
            raise ValueError(f"unknown table {name!r}")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise ValueError(f"version of {name} is {version!r}, not a Delta version")
    return tables


def _files(delta: DeltaTable | None, root: Path, partition_by: tuple[str, ...]
           ) -> list[tuple[str, dict]] | None:
    if delta is None:
        return []
    protocol = delta.protocol()
    if protocol.min_reader_version > 1 or protocol.reader_features:
        return None  # deletion vectors or column mapping: only a Delta reader reads it right
    actions = pa.table(delta.get_add_actions(flatten=True))
    paths = actions["path"].to_pylist()
    # (a partition column the files lack: written under an earlier layout, see views.py)
    parts = {name: actions[f"partition.{name}"].to_pylist() for name in partition_by
             if f"partition.{name}" in actions.column_names}
    return [(str(root / path), {name: values[n] for name, values in parts.items()})
            for n, path in enumerate(paths)]
