"""The wide tables ``requests_wide``, ``disclosure_wide`` and ``appeals_wide``: one row per
canonical report, a number column per cell key, written by every load in the same transaction
as ``cells`` and ``reports`` (so the published snapshot, a rollback and ``verify --repair``
cover them like any other table).

A load rewrites only what it changed. A row is removed where its report stopped being canonical
or its ``agency_id`` moved, and added where a report became canonical or its ``agency_id``
moved; only the files holding removed rows are rewritten and added rows go to new files of their
partitions (``agency_bucket``: a stable hash of the agency, see ``bucket_of``), every other file
stays; a partition that gathered many small files is compacted. A registry change to an agency's
region, level or kind rewrites the partitions of its reports whole. Without wide tables (the
first load, or a warehouse written before them) every canonical report is pivoted from
``cells``, a year partition at a time.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from warehouse import removed
from warehouse.agencies_load import agency_of
from warehouse.clustered import file_ranges
from warehouse.data_files import FILE_ROWS
from warehouse.schema import WIDE, WIDE_BUCKETS, TableDef

WIDE_TABLES = {t.name: t.cell_table for t in WIDE}
COMPACT_SLACK = 4  # small files a partition may gather past twice its full files' count
AGENCY_COLUMNS = ("division_code", "level", "kind")
# Every cell key of the three tables, and where each wide table's cells start in that list.
_KEYS = [f"{t.cell_table}/{c.name.replace('__', '/')}" for t in WIDE
         for c in t.columns if "__" in c.name]
_KEY_INDEX = pa.array(_KEYS, pa.string())


def bucket_of(agency: str | None) -> int:
    """The wide tables' partition of an agency: its ``agency_id``, else (a name not recognised)
    its ``agency_key``, so every year of one body is in one partition. md5, because DuckDB
    computes it too (``bucket_sql``): a query naming the agency names its partition, and
    DuckDB opens that partition's files only."""
    return int(hashlib.md5((agency or "").encode()).hexdigest()[:8], 16) % WIDE_BUCKETS


def bucket_sql(agency: str) -> str:
    """``bucket_of`` as a DuckDB expression of the SQL expression ``agency``."""
    return f"('0x' || left(md5(coalesce({agency}, '')), 8))::UBIGINT % {WIDE_BUCKETS}"


def buckets(agencies: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``bucket_of`` of each agency (``agency_of``), hashing each distinct one once."""
    if isinstance(agencies, pa.ChunkedArray):
        agencies = agencies.combine_chunks()
    encoded = pc.dictionary_encode(pc.fill_null(agencies, ""))
    codes = np.array([bucket_of(k) for k in encoded.dictionary.to_pylist()], np.int64)
    return pa.array(codes[encoded.indices.to_numpy(zero_copy_only=False)]
                    if len(codes) else np.zeros(0, np.int64))


def differ(before: pa.ChunkedArray, after: pa.ChunkedArray) -> pa.ChunkedArray:
    """Where two columns differ, a null against a value counting as a difference."""
    unequal = pc.fill_null(pc.not_equal(before, after), True)
    return pc.and_(unequal, pc.invert(pc.and_(pc.is_null(before), pc.is_null(after))))


def changes(before: pa.Table, after: pa.Table) -> tuple[set[str], set[str]]:
    """(report_ids whose wide row goes, report_ids whose wide row comes): ``after`` is
    ``before`` (the published reports) with new reports appended and flags and ids chosen
    again."""
    old_n = before.num_rows
    was = pc.fill_null(before["canonical"], False)
    now = pc.fill_null(after["canonical"], False)
    moved = differ(before["agency_id"], after["agency_id"].slice(0, old_n))
    changed = pc.or_(moved, pc.not_equal(was, now.slice(0, old_n)))
    ids = after["report_id"]
    gone = pc.filter(ids.slice(0, old_n), pc.and_(changed, was))
    come = pc.filter(ids.slice(0, old_n), pc.and_(changed, now.slice(0, old_n)))
    new = pc.filter(ids.slice(old_n), now.slice(old_n))
    return set(gone.to_pylist()), set(come.to_pylist()) | set(new.to_pylist())


def changed_agencies(before: pa.Table, after: pa.Table) -> set[str]:
    """agency_ids whose region code, level or kind differ between two ``agencies`` tables."""
    def attributes(table: pa.Table) -> dict:
        return {r["agency_id"]: tuple(r[c] for c in AGENCY_COLUMNS)
                for r in table.select(["agency_id", *AGENCY_COLUMNS]).to_pylist()}
    old, new = attributes(before), attributes(after)
    return {a for a in old.keys() | new.keys() if old.get(a) != new.get(a)}


def pivot(cells: Iterator[pa.RecordBatch], ids: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(values, present): one row per report of ``ids``, one column per key of ``_KEYS``;
    ``present`` is False where the report has no number for the key (blank stays null)."""
    values = np.zeros((len(ids), len(_KEYS)))
    present = np.zeros((len(ids), len(_KEYS)), bool)
    for batch in cells:
        key = pc.index_in(pc.binary_join_element_wise(
            batch["table"], batch["row"], batch["col"], "/"), value_set=_KEY_INDEX)
        report = pc.index_in(batch["report_id"], value_set=ids)
        keep = pc.and_(pc.is_valid(key), pc.is_valid(report))
        keep = pc.and_(keep, pc.is_valid(batch["value"]))
        at = np.flatnonzero(keep.to_numpy(zero_copy_only=False))
        if not at.size:
            continue
        r = report.to_numpy(zero_copy_only=False)[at].astype(np.int64)
        k = key.to_numpy(zero_copy_only=False)[at].astype(np.int64)
        values[r, k] = batch["value"].to_numpy(zero_copy_only=False)[at]
        present[r, k] = True
    return values, present


def rows(reports: pa.Table, agencies: pa.Table, cells: Iterator[pa.RecordBatch]
         ) -> dict[str, pa.Table]:
    """The wide rows of ``reports`` (canonical ones, each once), their cells read from
    ``cells`` (batches with report_id, table, row, col and value)."""
    ids = reports["report_id"].combine_chunks()
    values, present = pivot(cells, ids)
    common = {name: reports[name] for name in reports.column_names}
    common.update(_agency_columns(reports["agency_id"], agencies))
    common["agency_of"] = agency_of(reports)
    common["agency_bucket"] = buckets(common["agency_of"])
    out, start = {}, 0
    for table in WIDE:
        data = []
        for column in table.columns:
            if "__" in column.name:
                data.append(pa.array(values[:, start], mask=~present[:, start]))
                start += 1
            else:
                data.append(common[column.name])
        out[table.name] = _sorted(pa.Table.from_arrays(data, schema=table.schema))
    return out


def _sorted(table: pa.Table) -> pa.Table:
    """By partition, agency and year: a query for one agency reads few row groups. (The
    writer sorts every chunk it writes by agency and year too: ``TableDef.cluster_by``.)"""
    return table.sort_by([("agency_bucket", "ascending"), ("agency_of", "ascending"),
                          ("year", "ascending")])


def _cells(cells: ds.Dataset, ids: pa.Array, years: list[int], table: str | None = None
           ) -> Iterator[pa.RecordBatch]:
    """Cells of the reports ``ids`` from the ``cells`` table, only its ``years`` partitions
    (and only ``table``'s cells, if given)."""
    if not len(ids):
        return iter(())
    wanted = pc.field("year").isin(pa.array(years, pa.int64())) & pc.field(
        "report_id").isin(ids)
    if table:
        wanted &= pc.field("table") == table
    return cells.to_batches(
        columns=["report_id", "table", "row", "col", "value"], filter=wanted,
        batch_size=1 << 20)


def rebuild(tx, reports: pa.Table, agencies: pa.Table) -> None:
    """Every wide table from scratch, from the canonical ``reports``, pivoted a year partition
    of ``cells`` at a time; a table is held in memory to be written sorted."""
    canonical = reports.filter(pc.fill_null(reports["canonical"], False))
    years = sorted(y for y in pc.unique(canonical["year"]).to_pylist() if y is not None)
    source = tx.dataset("cells")  # (opened here: a Delta table cannot open inside a write)

    def built(table: TableDef) -> pa.Table:
        chunks = []
        for year in years:
            chunk = canonical.filter(pc.equal(canonical["year"], year))
            cells = _cells(source, chunk["report_id"].combine_chunks(), [year], table.cell_table)
            chunks.append(rows(chunk, agencies, cells)[table.name])
        return pa.concat_tables(chunks) if chunks else table.schema.empty_table()

    for table in WIDE:  # (sorted as a whole: each file's row groups hold few agencies)
        tx.write_partitions(table.name, [built(table)], "agency_bucket")


@dataclass(frozen=True)
class Change:
    """What a load did to the published wide tables: the rows it added, per table, and the
    reports whose published rows no longer count (so a rule can read the published files, which
    a load only adds to, beside the added rows in memory)."""

    added: dict[str, pa.Table]
    dropped: frozenset[str]
    published_removed: dict[str, removed.Removed]  # (as ``removed.read`` gave them)


def update(tx, before: pa.Table, after: pa.Table, agencies_before: pa.Table,
           agencies: pa.Table, new_cells: pa.Table, *, registry_changed: bool = True
           ) -> Change | None:
    """Bring the wide tables in step with a load: ``before``/``after`` are the reports table
    as published and as this load writes it, ``new_cells`` the cells this load added;
    ``registry_changed``: agencies' region, level or kind may have changed (else they only
    gained bodies). Returns the ``Change``, or None when the tables were built again whole."""
    before_removed = removed.read(tx)
    if not current(tx):
        rebuild(tx, after, agencies)
        removed.write(tx, {name: {} for name in WIDE_TABLES}, before_removed)  # (all new)
        return None
    gone, come = changes(before, after)
    moved = changed_agencies(agencies_before, agencies) if registry_changed else set()
    touched_rows = pc.is_in(after["report_id"], pa.array(sorted(gone | come), pa.string()))
    if moved:
        touched_rows = pc.or_(touched_rows, pc.fill_null(pc.is_in(
            after["agency_id"], pa.array(sorted(moved), pa.string())), False))
    # (a row whose agency_id moved leaves its old partition for its new one)
    touched = set(pc.unique(buckets(pc.filter(agency_of(after), touched_rows))).to_pylist())
    touched |= set(pc.unique(buckets(pc.filter(agency_of(before), touched_rows.slice(
        0, before.num_rows)))).to_pylist())
    if not touched:
        return Change({table.name: table.schema.empty_table() for table in WIDE}, frozenset(),
                      before_removed)
    adding = after.filter(pc.is_in(after["report_id"], pa.array(sorted(come), pa.string())))
    old = adding.filter(pc.invert(pc.is_in(adding["report_id"], pc.unique(
        new_cells["report_id"]))))
    years = sorted({y for y in old["year"].to_pylist() if y is not None})
    source = [*new_cells.select(["report_id", "table", "row", "col", "value"]).to_batches(),
              *_cells(tx.dataset("cells"), old["report_id"].combine_chunks(), years)]
    fresh = rows(adding, agencies.filter(pc.fill_null(pc.is_in(  # (only the bodies it needs)
        agencies["agency_id"], adding["agency_id"]), False)), iter(source))
    drop = pa.array(sorted(gone | come), pa.string())
    # the agencies of the published rows that go (a file whose range holds none of them holds
    # none of those rows; a new report has no row yet)
    dropped = sorted({a for a in pc.filter(agency_of(before), pc.fill_null(
        pc.is_in(before["report_id"], drop), False)).to_pylist() if a is not None})
    # (copies the writers add to and take from; a file's set is replaced, never changed)
    gone_rows = {name: dict(by_file) for name, by_file in before_removed.items()}
    for table in WIDE:
        in_touched = [path for path, part in tx.files(table.name) or []
                      if part["agency_bucket"] in touched]
        if registry_changed:
            _rewrite_partitions(tx, table, in_touched, drop, fresh[table.name], agencies,
                                touched, gone_rows[table.name])
        else:
            _remove_rows(tx, table, in_touched, drop, dropped, fresh[table.name],
                         gone_rows[table.name])
    removed.write(tx, gone_rows, before_removed)
    return Change(fresh, frozenset(gone | come), before_removed)


def _without(table: TableDef, paths: list[str], drop: pa.Array,
             gone: removed.Removed) -> pa.Table:
    """The rows of the files ``paths`` of a wide table but those of the reports ``drop`` and
    those ``gone`` from each file."""
    schema = table.schema.remove(table.schema.get_field_index("agency_bucket"))
    dropping = set(drop.to_pylist())

    def read(files: list[str], also: set[str]) -> pa.Table:
        unwanted = pa.array(sorted(dropping | also), pa.string())
        return ds.dataset(files, schema=schema, format="parquet").to_table(
            filter=~pc.field("report_id").isin(unwanted))

    plain = [path for path in paths if not gone.get(path)]  # (read together)
    parts = [read(plain, set())] if plain else []
    parts += [read([path], gone[path]) for path in paths if gone.get(path)]
    kept = pa.concat_tables(parts) if parts else schema.empty_table()
    kept = kept.append_column("agency_bucket", buckets(kept["agency_of"]))
    return kept.select(table.schema.names).cast(table.schema)


def _rewrite_partitions(tx, table: TableDef, paths: list[str], drop: pa.Array,
                        fresh: pa.Table, agencies: pa.Table, touched: set[int],
                        gone: removed.Removed) -> None:
    """The partitions ``touched`` rewritten whole (the registry may have changed an agency's
    region, level or kind: every kept row takes them again)."""
    kept = _refresh_agency(_without(table, paths, drop, gone), agencies)
    tx.write_partitions(table.name, [pa.concat_tables([kept, fresh])], "agency_bucket", touched)
    for path in paths:  # (every file of those partitions is gone, and its removed rows)
        gone.pop(path, None)


def _remove_rows(tx, table: TableDef, paths: list[str], drop: pa.Array,
                 dropped: list[str], fresh: pa.Table, gone: removed.Removed) -> None:
    """The rows that go are recorded in ``gone`` (file -> report_ids; ``removed.py``), their
    files stay; the new rows go to new files of their partitions. A partition that has gathered
    many small files this way is compacted (rewritten whole, sorted), and one holding more than
    ``removed.LIMIT`` removed rows has the files holding them rewritten without them.
    ``dropped``: the agencies of the rows that go; only the files whose recorded range holds
    one of their partition's are opened to look for those rows."""
    ranges = file_ranges(tx.delta(table.name), tx.path(table.name), table.name,
                         tx.actions(table.name)) or {}
    by_bucket = _by_bucket(dropped)
    files_after, rows_after, gone_after = Counter(), Counter(), Counter()
    for path in paths:
        bucket = _bucket_of_path(path)
        if path in ranges and not ranges[path].may_hold(by_bucket.get(bucket, [])):
            count = ranges[path].rows
        else:
            ids = pq.read_table(path, columns=["report_id"])["report_id"]
            count = len(ids)
            found = set(pc.filter(ids, pc.is_in(ids, drop)).to_pylist())
            if found:
                gone[path] = gone.get(path, set()) | found
        files_after[bucket] += 1
        rows_after[bucket] += count
        gone_after[bucket] += len(gone.get(path, ()))
    for bucket, count in Counter(fresh["agency_bucket"].to_pylist()).items():
        files_after[bucket] += 1
        rows_after[bucket] += count
    compact = {b for b, n in files_after.items()
               if n > 2 * math.ceil(rows_after[b] / FILE_ROWS) + COMPACT_SLACK}
    fold = {b for b, n in gone_after.items() if n > removed.LIMIT}
    rewrite = sorted(p for p in paths if _bucket_of_path(p) in compact
                     or (_bucket_of_path(p) in fold and gone.get(p)))
    kept = _without(table, rewrite, drop, gone) if rewrite else table.schema.empty_table()
    tx.replace_files(table.name, rewrite, [pa.concat_tables([kept, fresh])], "agency_bucket")
    for path in rewrite:  # (rewritten without its removed rows)
        gone.pop(path, None)


def files_holding(source, table: str, agencies: Iterable[str]) -> list[str]:
    """The files of the wide ``table`` (as ``source``, a load's ``Transaction`` or a
    ``Warehouse``, has it) that may hold a row of one of ``agencies``: in their partitions,
    those whose recorded agency_of range holds one (every file of those partitions that has no
    recorded range)."""
    by_bucket = _by_bucket(agencies)
    ranges = file_ranges(source.delta(table), source.path(table), table,
                         source.actions(table)) or {}
    return [path for path, part in source.files(table) or [] if part["agency_bucket"] in by_bucket
            and (path not in ranges or ranges[path].may_hold(by_bucket[part["agency_bucket"]]))]


def _by_bucket(agencies: Iterable[str]) -> dict[int, list[str]]:
    """``agencies`` by partition, each list sorted (the agency strings of one partition are
    spread over the whole range: a file is asked only about its own partition's)."""
    out: dict[int, list[str]] = {}
    for agency in sorted(set(agencies)):
        out.setdefault(bucket_of(agency), []).append(agency)
    return out


def _bucket_of_path(path: str) -> int:
    return int(path.rsplit("/agency_bucket=", 1)[1].split("/", 1)[0])


def current(tx) -> bool:
    """Every wide table can be updated in place (else a load rebuilds them from every report)."""
    return all(_current(tx, table) for table in WIDE)


def _current(tx, table: TableDef) -> bool:
    """The table is published with the columns of its definition (a template key added since
    means a rebuild) and its files can be listed (no deletion vectors)."""
    if tx.warehouse.published().get(table.name) is None:
        return False
    delta = tx.warehouse.delta(table.name)
    names = [f.name for f in delta.schema().fields]
    return names == table.schema.names and tx.files(table.name) is not None


def _agency_columns(agency_ids: pa.ChunkedArray, agencies: pa.Table) -> dict[str, pa.Array]:
    """Region code, level and kind of each of ``agency_ids``, from ``agencies``."""
    attributes = {r["agency_id"]: r for r in agencies.select(
        ["agency_id", *AGENCY_COLUMNS]).to_pylist()}
    ids = agency_ids.to_pylist()
    return {column: pa.array([attributes.get(a, {}).get(column) for a in ids], pa.string())
            for column in AGENCY_COLUMNS}


def _refresh_agency(table: pa.Table, agencies: pa.Table) -> pa.Table:
    """``table`` with region code, level and kind taken again from ``agencies``."""
    for column, values in _agency_columns(table["agency_id"], agencies).items():
        table = table.set_column(table.schema.get_field_index(column), column, values)
    return table

