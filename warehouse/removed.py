"""Rows of the wide tables' files that no longer count: the table ``wide_removed``.

When a report stops being canonical its row in each wide table goes. Rewriting the file that
holds it (8,192 rows of ~230 number columns, in three tables) was most of a nightly load's time
and memory, whatever the load added. A load records (table, file, report_id) instead, as Delta's
deletion vectors would (delta-rs does not write them), and every reader of a wide table leaves
those rows out: the views and W1 through ``live_sql``, a load rewriting a file through
``wide._without``. A partition that gathers more than ``LIMIT`` of them has the files holding
them rewritten (``wide._remove_rows``), so the list stays short and the files few.

A row is named by its file and its report, not its report alone: a report that goes and later
comes back (canonical again) has a live row in a new file beside the removed one in the old.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from warehouse.schema import WIDE, WIDE_REMOVED

LIMIT = 64  # removed rows a partition of a wide table may hold before its files are rewritten

Removed = dict[str, set[str]]  # absolute path of a file -> report_ids whose row in it is gone


def read(source) -> dict[str, Removed]:
    """The rows removed from each file of each wide table, as ``source`` (a ``Warehouse``, or a
    load's ``Transaction``) has them: {table: {file: report_ids}}."""
    out: dict[str, Removed] = {table.name: {} for table in WIDE}
    files = source.files(WIDE_REMOVED.name)
    if not files:
        return out
    data = ds.dataset([path for path, _ in files], schema=WIDE_REMOVED.schema,
                      format="parquet").to_table()
    for table, path, report in zip(*(data[c].to_pylist() for c in WIDE_REMOVED.schema.names),
                                   strict=True):
        out[table].setdefault(str(source.path(table) / path), set()).add(report)
    return out


def write(tx, removed: dict[str, Removed], before: dict[str, Removed]) -> None:
    """``removed`` as the table's content (the writers of the wide tables drop the entries of
    the files they rewrite: a rewritten file takes its removed rows with it); written only
    where it differs from ``before`` (as the load read it)."""
    def pairs(by_table: dict[str, Removed]) -> set[tuple[str, str, str]]:
        return {(table, path, report) for table, by_file in by_table.items()
                for path, reports in by_file.items() for report in reports}

    kept = pairs(removed)
    if kept == pairs(before):
        return
    rows = [{"table": table, "path": Path(path).relative_to(tx.path(table)).as_posix(),
             "report_id": report} for table, path, report in sorted(kept)]
    tx.rewrite(WIDE_REMOVED.name, pa.Table.from_pylist(rows, schema=WIDE_REMOVED.schema))


def live_sql(con: duckdb.DuckDBPyConnection, table: str, paths: list[str], removed: Removed,
             options: str, columns: str = "*") -> str:
    """A SELECT of ``columns`` over the rows of the files ``paths`` of the wide ``table`` (read
    by ``read_parquet`` with ``options``), without the rows ``removed`` from them. The files with
    no removed row are read as they are; the others are anti-joined on (file, report_id) with a
    table registered on ``con``."""
    clean = [path for path in paths if not removed.get(path)]
    dirty = [path for path in paths if removed.get(path)]
    selects = []
    if clean or not dirty:
        selects.append(f"SELECT {columns} FROM read_parquet({_listing(clean)}, {options})")
    if dirty:
        gone = f"_{table}_removed"
        con.register(gone, pa.table({
            "file": [path for path in dirty for _ in removed[path]],
            "report_id": [report for path in dirty for report in sorted(removed[path])]}))
        selects.append(
            f"SELECT {columns} FROM (SELECT w.* EXCLUDE (filename) FROM read_parquet("
            f"{_listing(dirty)}, {options}, filename = true) w ANTI JOIN {gone} g "
            "ON w.filename = g.file AND w.report_id = g.report_id)")
    return " UNION ALL ".join(selects)


def _listing(paths: list[str]) -> str:
    return "[" + ", ".join("'" + path.replace("'", "''") + "'" for path in paths) + "]"
