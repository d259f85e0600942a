"""The Parquet files the warehouse writes itself (the wide tables, ``reports``, ``agencies``):
small, so that a load that changes a few rows rewrites a few small files, and committed to
Delta as add actions by ``store.Transaction``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake.transaction import AddAction

ROW_GROUP = 2048  # rows per row group: sorted rows let a reader skip all but a few
FILE_ROWS = 4 * ROW_GROUP  # rows per file: what a load rewrites to change one row


def write_files(path: Path, chunks: Iterable[pa.Table], column: str | None) -> list[AddAction]:
    """The rows of ``chunks`` (in the table's schema) as new Parquet files under the table's
    folder ``path``, one or more per ``column`` value (Hive-style folders; ``column`` None: an
    unpartitioned table), at most ``FILE_ROWS`` rows each, in row groups of ``ROW_GROUP``.
    Statistics (min/max) are kept for the descriptive columns only, not a wide table's
    hundreds of number columns: every query opens each file's footer, and they made it several
    times larger. Returns their add actions."""
    writers: dict[int | None, tuple[str, pq.ParquetWriter, int]] = {}
    done: list[tuple[int | None, str, int]] = []  # (partition value, file, rows)
    try:
        for chunk in chunks:
            parts = [(None, chunk)] if column is None else [
                (value, chunk.filter(pc.equal(chunk[column], value)).drop_columns([column]))
                for value in pc.unique(chunk[column]).to_pylist()]
            for value, rows in parts:
                while rows.num_rows:
                    if value not in writers:
                        folder = f"{column}={value}/" if column else ""
                        relative = f"{folder}part-{uuid.uuid4()}.zstd.parquet"
                        (path / relative).parent.mkdir(parents=True, exist_ok=True)
                        writers[value] = relative, pq.ParquetWriter(
                            path / relative, rows.schema, compression="zstd",
                            compression_level=3, write_statistics=[
                                name for name in rows.schema.names if "__" not in name]), 0
                    relative, writer, written = writers[value]
                    part = rows.slice(0, FILE_ROWS - written)
                    writer.write_table(part, row_group_size=ROW_GROUP)
                    rows = rows.slice(part.num_rows)
                    writers[value] = relative, writer, written + part.num_rows
                    if written + part.num_rows >= FILE_ROWS:
                        writer.close()
                        done.append((value, relative, FILE_ROWS))
                        del writers[value]
    finally:
        for value, (relative, writer, written) in writers.items():
            writer.close()
            done.append((value, relative, written))
    adds = []
    for value, relative, rows in sorted(done, key=lambda d: (d[0] is not None, d[0] or 0, d[1])):
        stat = (path / relative).stat()
        adds.append(AddAction(relative, stat.st_size, {column: str(value)} if column else {},
                              int(stat.st_mtime * 1000), True,
                              json.dumps({"numRecords": rows})))
    return adds
