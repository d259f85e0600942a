"""Checks of the warehouse on disk (the half of ``nianbao verify`` that needs no raw store):
the published pointer against the Delta logs, every published table readable, and the repair
that republishes the latest consistent versions from the Delta history (it never deletes).

A *consistent* snapshot is the state right after a transaction finished writing: a load appends
its ``runs`` row last, and a one-write transaction (findings recorded after a run) marks its
commit as its last, so each such commit is a point where every table held complete
transactions. The snapshot at that point takes, for every table, its latest Delta version
committed at or before that commit (transactions never overlap: they hold the warehouse lock).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from warehouse.schema import TABLES
from warehouse.store import SnapshotError, Warehouse

# What a damaged Delta log, checkpoint or Parquet file raises.
_UNREADABLE = (DeltaError, OSError, ValueError, pa.ArrowException)
REPAIR = "run `nianbao verify --repair` to republish the latest consistent versions"
REBUILD = ("restore it from a backup, or move data/warehouse aside and run `nianbao rebuild` "
           "(every document is in the raw store; the run history starts over)")


@dataclass
class Problem:
    """One thing ``verify`` found wrong: ``kind`` is stable, ``action`` says what to do."""

    kind: str
    scope: str  # raw_store, manifest, snapshot or table
    subject: str  # the object, manifest line, table or file it is about
    message: str
    action: str

    def line(self) -> str:
        return f"{self.kind} {self.subject}: {self.message} -> {self.action}"

    def quality_row(self, run_id: str) -> dict:
        """The problem as a FAIL finding of the ``quality`` table."""
        return {"run_id": run_id, "report_id": None, "scope": self.scope, "rule": self.kind,
                "subject": self.subject, "status": "FAIL",
                "message": f"{self.message}; {self.action}", "expected": None,
                "observed": None, "cells": []}


def check_snapshot(warehouse: Warehouse) -> list[Problem]:
    """The pointer exists and parses when tables exist, and names versions the logs hold."""
    try:
        published = warehouse.published()
    except SnapshotError as exc:
        return [Problem(exc.kind, "snapshot", str(warehouse.pointer), exc.detail, REPAIR)]
    problems = []
    for name, version in published.items():
        path = warehouse.path(name)
        if not DeltaTable.is_deltatable(str(path)):
            problems.append(Problem("table_missing", "snapshot", name,
                                    f"the pointer names version {version} of {name}, but "
                                    f"{path} is not a Delta table", REBUILD))
            continue
        try:
            latest = DeltaTable(path).version()
        except _UNREADABLE as exc:
            problems.append(Problem("delta_log_unreadable", "snapshot", name,
                                    f"the Delta log of {name} cannot be read ({_short(exc)})",
                                    REBUILD))
            continue
        if version > latest:
            problems.append(Problem("published_version_missing", "snapshot", name,
                                    f"the pointer names version {version} of {name}, its Delta "
                                    f"log ends at version {latest}", REPAIR))
    return problems


def check_tables(warehouse: Warehouse, since: datetime | None = None) -> list[Problem]:
    """Every Parquet file of every published table is present and reads to the end;
    ``since``: only files added at or after that time (what a run wrote)."""
    try:
        published = warehouse.published()
    except SnapshotError:
        return []  # check_snapshot reports it
    problems = []
    for name, version in published.items():
        try:
            files = data_files(warehouse, name, version, since)
        except _UNREADABLE as exc:  # a log or checkpoint deltalake cannot read
            problems.append(Problem("table_unreadable", "table", name,
                                    f"version {version} of {name} cannot be opened "
                                    f"({_short(exc)})", REBUILD))
            continue
        for path in files:
            try:
                _read_through(path)
            except _UNREADABLE as exc:
                problems.append(Problem("table_unreadable", "table", name,
                                        f"{path} of version {version} cannot be read "
                                        f"({_short(exc)})", REBUILD))
    return problems


def data_files(warehouse: Warehouse, name: str, version: int,
               since: datetime | None = None) -> list[str]:
    actions = pa.table(DeltaTable(warehouse.path(name), version=version)
                       .get_add_actions(flatten=True)).to_pylist()
    if since is not None:
        cutoff = since.timestamp() * 1000
        actions = [a for a in actions if _millis(a["modification_time"]) >= cutoff]
    return [str(warehouse.path(name) / a["path"]) for a in actions]


def consistent_snapshots(warehouse: Warehouse) -> Iterator[dict[str, int]]:
    """Consistent snapshots in the Delta history, latest first (see the module docstring)."""
    histories = {name: DeltaTable(warehouse.path(name)).history()
                 for name in warehouse.delta_tables()}
    for end in warehouse.transaction_ends():
        versions = {}
        for name, history in histories.items():
            eligible = [c["version"] for c in history if c["timestamp"] <= end["timestamp"]]
            if eligible:
                versions[name] = max(eligible)
        yield versions


def readable(warehouse: Warehouse, versions: dict[str, int]) -> bool:
    """Every table opens at its version and every file of it is present with a valid footer."""
    try:
        for name, version in versions.items():
            for path in data_files(warehouse, name, version):
                pq.read_metadata(path)
    except _UNREADABLE:  # any failure to open means: not this snapshot
        return False
    return True


def repair(warehouse: Warehouse) -> dict[str, int] | None:
    """Publish the latest consistent, readable snapshot; None when the history has none.
    Only the pointer is written: no table version or file is removed."""
    for versions in consistent_snapshots(warehouse):
        if readable(warehouse, versions):
            warehouse.publish(versions, "repair")
            return versions
    return None


def record_findings(warehouse: Warehouse, run_id: str, problems: list[Problem]) -> None:
    """Append ``problems`` to ``quality`` as FAIL findings of ``run_id``, published."""
    if not problems:
        return
    rows = [p.quality_row(run_id) for p in problems]
    with warehouse.transaction(run_id) as tx:
        tx.append("quality", pa.Table.from_pylist(rows, schema=TABLES["quality"].schema),
                  last=True)


def _millis(value) -> float:
    if isinstance(value, datetime):
        return value.timestamp() * 1000
    return float(value)


def _read_through(path: str) -> None:
    """Decode every page of a Parquet file (a flipped byte shows up as a decode error)."""
    with pq.ParquetFile(path) as parquet:
        for _ in parquet.iter_batches(batch_size=65536):
            pass


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
