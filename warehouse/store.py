"""The warehouse on disk: Delta Lake tables under ``DATA_DIR/warehouse/`` plus a published snapshot.

Each Delta commit is atomic for its table. A load writes several tables, so readers see the
*published* versions: ``_published.json`` names one Delta version per table and is replaced
atomically at the end of a load. A load killed midway leaves commits nobody reads; the next load
rolls those tables back to the published versions before writing. One load at a time: a second
one is refused with a message naming the holder of the lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable, WriterProperties, write_deltalake

from warehouse.schema import TABLES

WRITER = WriterProperties(compression="ZSTD", compression_level=3)
POINTER = "_published.json"


class WarehouseLocked(RuntimeError):
    """Another load holds the warehouse lock."""


class Warehouse:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "warehouse"

    def path(self, table: str) -> Path:
        return self.root / table

    def published(self) -> dict[str, int]:
        pointer = self.root / POINTER
        if not pointer.exists():
            return {}
        return json.loads(pointer.read_text(encoding="utf-8"))["tables"]

    def exists(self) -> bool:
        return bool(self.published())

    def delta(self, table: str) -> DeltaTable | None:
        version = self.published().get(table)
        return None if version is None else DeltaTable(self.path(table), version=version)

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

    def read(self, table: str, columns: list[str] | None = None) -> pa.Table:
        return self.dataset(table).to_table(columns=columns)

    @contextmanager
    def transaction(self, run_id: str) -> Iterator[Transaction]:
        """A load: exclusive, rolled back to the published state first, published at the end."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _exclusive(self.root / ".lock", run_id):
            self._roll_back_unpublished()
            tx = Transaction(self)
            yield tx
            self._publish(tx.versions, run_id)

    def _roll_back_unpublished(self) -> None:
        published = self.published()
        for name in TABLES:
            path = self.path(name)
            if not DeltaTable.is_deltatable(str(path)):
                if path.exists():
                    shutil.rmtree(path)  # created by a load that never published
                continue
            if name not in published:
                shutil.rmtree(path)
            elif DeltaTable(path).version() != published[name]:
                DeltaTable(path).restore(published[name])
                self._publish({name: DeltaTable(path).version()}, "rollback")

    def _publish(self, versions: dict[str, int], run_id: str) -> None:
        tables = {**self.published(), **versions}
        text = json.dumps({"tables": tables, "run_id": run_id,
                           "published_at": datetime.now(timezone.utc).isoformat()}, indent=2)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".published-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.root / POINTER)


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
        return data.select(TABLES[table].schema.names).cast(TABLES[table].schema)

    def append(self, table: str, data: pa.Table | pa.RecordBatchReader) -> None:
        if isinstance(data, pa.Table):
            if not data.num_rows and DeltaTable.is_deltatable(str(self.warehouse.path(table))):
                return
            data = self._conform(table, data)
        write_deltalake(self.warehouse.path(table), data, mode="append",
                        partition_by=list(TABLES[table].partition_by) or None,
                        writer_properties=WRITER)
        self._done(table)

    def replace(self, table: str, data: pa.Table) -> None:
        """The table's whole content, as one new version (small tables: ``reports``). A MERGE
        would rewrite only the touched files, but delta-rs writes them with string_view columns
        that pyarrow datasets then fail to filter. The table takes the current definition's
        schema (a column added since it was written, e.g. reports.agency_id)."""
        write_deltalake(self.warehouse.path(table), self._conform(table, data), mode="overwrite",
                        partition_by=list(TABLES[table].partition_by) or None,
                        writer_properties=WRITER, schema_mode="overwrite")
        self._done(table)


def _files(delta: DeltaTable | None, root: Path, partition_by: tuple[str, ...]
           ) -> list[tuple[str, dict]] | None:
    if delta is None:
        return []
    protocol = delta.protocol()
    if protocol.min_reader_version > 1 or protocol.reader_features:
        return None  # deletion vectors or column mapping: only a Delta reader reads it right
    actions = pa.table(delta.get_add_actions(flatten=True))
    paths = actions["path"].to_pylist()
    parts = {name: actions[f"partition.{name}"].to_pylist() for name in partition_by}
    return [(str(root / path), {name: parts[name][n] for name in partition_by})
            for n, path in enumerate(paths)]


@contextmanager
def _exclusive(lock_path: Path, holder: str) -> Iterator[None]:
    handle = lock_path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise WarehouseLocked(f"the warehouse is being loaded by {owner}; "
                              "try again when that load has finished") from exc
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"run {holder} (pid {os.getpid()}, since "
                     f"{datetime.now(timezone.utc).isoformat(timespec='seconds')})")
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
