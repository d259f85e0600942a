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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError

from warehouse.failed_load import DiskFull, FilesBefore, is_disk_full
from warehouse.lock import WarehouseLocked, hold
from warehouse.schema import TABLES
from warehouse.transaction import LAST_WRITE, WRITER, Transaction, files_of, latest_version

__all__ = ["Transaction", "Warehouse", "WarehouseLocked"]

POINTER = "_published.json"


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
        self._opened: dict[tuple[str, int], DeltaTable] = {}  # a version, once committed, stays
        self._actions: dict[tuple[str, int], pa.Table] = {}
        self._files: dict[tuple[str, int], list[tuple[str, dict]] | None] = {}

    def delta_at(self, table: str, version: int) -> DeltaTable:
        """The table at ``version``, opened once per transaction (a load asks for the same
        versions dozens of times; each open reads the Delta log)."""
        opened = self._opened.get((table, version))
        if opened is None or opened.version() != version:  # (a commit through it may move it)
            opened = self._opened[table, version] = DeltaTable(self.path(table), version=version)
        return opened

    def actions_at(self, table: str, version: int) -> pa.Table:
        """The add actions (flattened) of the table at ``version``, read once."""
        if (table, version) not in self._actions:
            self._actions[table, version] = pa.table(
                self.delta_at(table, version).get_add_actions(flatten=True))
        return self._actions[table, version]

    def actions(self, table: str) -> pa.Table | None:
        """The add actions of the table's published version (None before one), read once."""
        version = self.published().get(table)
        return None if version is None else self.actions_at(table, version)

    def files_at(self, table: str, version: int) -> list[tuple[str, dict]] | None:
        """``files`` of the table at ``version``, listed once."""
        if (table, version) not in self._files:
            self._files[table, version] = files_of(
                self.delta_at(table, version), self.path(table), TABLES[table].partition_by,
                self.actions_at(table, version))
        return self._files[table, version]

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
            return self.delta_at(table, version)
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
        version = self.published().get(table)
        if version is None:
            return []
        self.delta(table)  # (a version the pointer names but the log lacks: PublishedDamaged)
        return self.files_at(table, version)

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
            self._opened.clear()  # (a version an earlier failed load wrote is gone)
            self._actions.clear()
            self._files.clear()
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
        # (the newest versions from the commit files' names: opening each table would replay
        # its log, and a table is opened only to be rolled back)
        latest = {name: latest_version(self.path(name)) for name in self.delta_tables()}
        for name, version in published.items():  # all checked before anything is rolled back
            if name not in latest or version > latest[name]:
                raise PublishedDamaged(f"{self.pointer} names version {version} of {name}, "
                                       "which its Delta log does not hold")
        for name in TABLES:
            path = self.path(name)
            if name not in latest:
                if path.exists():
                    shutil.rmtree(path)  # files of a first write killed before its first commit
                continue
            if name not in published:  # created by a load that never published: emptied, as a
                # new version, so its rows stay in the Delta history
                write_deltalake(path, TABLES[name].schema.empty_table(), mode="overwrite",
                                partition_by=list(TABLES[name].partition_by) or None,
                                writer_properties=WRITER)
            elif latest[name] != published[name]:
                DeltaTable(path).restore(published[name])
            else:
                continue
            published[name] = latest_version(path)
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
