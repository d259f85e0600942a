"""The Parquet files the warehouse writes itself (the wide tables, ``reports``, ``agencies``):
small, so that a load that changes a few rows rewrites a few small files, and committed to
Delta as add actions by ``transaction.Transaction``."""

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


def write_files(path: Path, chunks: Iterable[pa.Table], column: str | None,
                stats: tuple[str, ...] = ()) -> list[AddAction]:
    """The rows of ``chunks`` (in the table's schema) as new Parquet files under the table's
    folder ``path``, one or more per ``column`` value (Hive-style folders; ``column`` None: an
    unpartitioned table), at most ``FILE_ROWS`` rows each, in row groups of ``ROW_GROUP``.
    Statistics (min/max) are kept for the descriptive columns only, not a wide table's
    hundreds of number columns: every query opens each file's footer, and they made it several
    times larger. ``stats``: columns whose exact min, max and null count go into each file's add
    action (Delta's own statistics), so a reader can pick files without opening them. Returns
    their add actions."""
    writers: dict[int | None, tuple[str, pq.ParquetWriter, int, dict]] = {}
    done: list[tuple[int | None, str, int, dict]] = []  # (partition value, file, rows, stats)
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
                        # (no dictionaries in a file of a few rows, such as a nightly
                        # load's new rows: setting them up for ~230 columns was most of
                        # writing it)
                        writers[value] = relative, pq.ParquetWriter(
                            path / relative, rows.schema, compression="zstd",
                            compression_level=3, use_dictionary=rows.num_rows >= ROW_GROUP,
                            write_statistics=[
                                name for name in rows.schema.names if "__" not in name]), 0, {}
                    relative, writer, written, seen = writers[value]
                    part = rows.slice(0, FILE_ROWS - written)
                    writer.write_table(part, row_group_size=ROW_GROUP)
                    rows = rows.slice(part.num_rows)
                    seen = _merged(seen, part, stats)
                    writers[value] = relative, writer, written + part.num_rows, seen
                    if written + part.num_rows >= FILE_ROWS:
                        writer.close()
                        done.append((value, relative, FILE_ROWS, seen))
                        del writers[value]
    finally:
        for value, (relative, writer, written, seen) in writers.items():
            writer.close()
            done.append((value, relative, written, seen))
    adds = []
    for value, relative, rows, seen in sorted(
            done, key=lambda d: (d[0] is not None, d[0] or 0, d[1])):
        stat = (path / relative).stat()
        adds.append(AddAction(relative, stat.st_size, {column: str(value)} if column else {},
                              int(stat.st_mtime * 1000), True,
                              json.dumps({"numRecords": rows, **_delta_stats(seen)},
                                         ensure_ascii=False)))
    return adds


def _merged(seen: dict, part: pa.Table, columns: tuple[str, ...]) -> dict:
    """``seen`` ({column: (min, max, nulls)}) with the rows of ``part`` taken in."""
    out = dict(seen)
    for name in columns:
        low, high, nulls = out.get(name, (None, None, 0))
        part_low, part_high = (v.as_py() for v in pc.min_max(part[name]).values())
        lows = [v for v in (low, part_low) if v is not None]
        highs = [v for v in (high, part_high) if v is not None]
        out[name] = (min(lows) if lows else None, max(highs) if highs else None,
                     nulls + part[name].null_count)
    return out


def _delta_stats(seen: dict) -> dict:
    """``seen`` as Delta statistics (a column with no value has no min/max, only nulls)."""
    if not seen:
        return {}
    return {"minValues": {c: v[0] for c, v in seen.items() if v[0] is not None},
            "maxValues": {c: v[1] for c, v in seen.items() if v[1] is not None},
            "nullCount": {c: v[2] for c, v in seen.items()}}
