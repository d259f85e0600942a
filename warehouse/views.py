"""DuckDB over the warehouse: the views researchers query, at the published snapshot.

Tables are read through deltalake's pyarrow datasets (DuckDB's delta extension would need a
download); extension auto-install and auto-load are off, so a query never reaches the network.
A table with a damaged Parquet file is named (``DamagedTable``) while the other tables answer.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse import removed
from warehouse.cell_keys import wide_keys
from warehouse.schema import TABLES
from warehouse.store import Warehouse
from warehouse.wide import WIDE_TABLES, bucket_sql

REPORT_COLUMNS = ("report_id", "agency", "agency_key", "agency_id", "region", "year",
                  "template_disclosure", "template_requests", "format", "publish_date",
                  "portal_id", "source_url")


# view -> the warehouse tables it reads
VIEW_TABLES: dict[str, set[str]] = {
    **{name: {name} for name in TABLES}, **{f"_{name}": {name} for name in TABLES},
    "cells": {"cells", "reports"}, "quality_history": {"quality", "reports"},
    "quality": {"quality", "reports"},
}


class DamagedTable(RuntimeError):
    """A table of the published snapshot cannot be read (a damaged or missing Parquet file)."""

    kind = "damaged_table"

    def __init__(self, table: str, file: str | None, reason: str) -> None:
        self.table, self.file, self.reason = table, file, reason
        where = f"file {file}" if file else "its files"
        super().__init__(f"table {table} is damaged: {where} cannot be read ({reason}); "
                         "the other tables still answer")


def damaged_file(table: str, paths: list[str], *, full: bool = False) -> DamagedTable | None:
    """The first of ``paths`` that pyarrow cannot read (its footer, or with ``full`` every
    page), as a ``DamagedTable``; None when every file reads."""
    for path in paths:
        try:
            if full:
                for _ in pq.ParquetFile(path).iter_batches(batch_size=65536):
                    pass
            else:
                pq.read_metadata(path)
        except (OSError, pa.ArrowException) as exc:
            return DamagedTable(table, path, str(exc).splitlines()[0][:200])
    return None


def wide_view_sql(view: str, table: str) -> str:
    """The SQL of a wide table computed from ``reports`` and ``cells`` (what the wide tables
    were before they were materialized; a warehouse published before them reads this)."""
    columns = ",\n  ".join(
        f"max(c.value) FILTER (WHERE c.\"row\" = '{row}' AND c.col = '{col}') AS \"{row}__{col}\""
        for row, col in wide_keys(table))
    keep = ", ".join(f"r.{c}" for c in REPORT_COLUMNS)
    return (f"CREATE OR REPLACE VIEW {view} AS SELECT {keep},\n  {columns}\n"
            f"FROM reports r LEFT JOIN cells c ON c.report_id = r.report_id "
            f"AND c.\"table\" = '{table}'\nWHERE r.canonical GROUP BY ALL")


def quote(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def register_tables(con: duckdb.DuckDBPyConnection, source,
                    damaged: dict[str, DamagedTable] | None = None,
                    only: set[str] | None = None) -> set[str]:
    """Views ``_documents``, ``_reports``, … over a Warehouse's (or a load's) current files.

    DuckDB reads the Parquet files itself (statistics, filter and join pushdown); a table whose
    files alone do not give its rows (deletion vectors, column mapping) is read through
    deltalake's pyarrow dataset instead. A table whose files cannot be read raises
    ``DamagedTable``, or, given ``damaged``, is recorded there and its view fails when read.
    Returns the wide tables written under an earlier partitioning or with other columns (their
    views are empty: ``connect`` computes them from ``cells`` until the next load rebuilds
    them). ``only``: these tables (a load's rules need a few; listing each table's files costs).
    """
    earlier = set()
    names = [n for n in TABLES if only is None or n in only]
    gone: dict[str, removed.Removed] = {}
    if WIDE_TABLES.keys() & set(names):
        try:
            gone = removed.read(source)
        except (OSError, pa.ArrowException) as exc:  # (the wide tables cannot be read right)
            problem = damaged_file("wide_removed", [p for p, _ in source.files("wide_removed")
                                                    or []]) or DamagedTable(
                "wide_removed", None, str(exc)[:200])
            if damaged is None:
                raise problem from exc
            for name in WIDE_TABLES.keys() & set(names):
                damaged[name] = problem
                _register_damaged(con, name, problem)
            names = [n for n in names if n not in WIDE_TABLES]
    for name in names:
        files = source.files(name)
        if name in WIDE_TABLES and any(set(part) != set(TABLES[name].partition_by)
                                       for _, part in files or []):
            earlier.add(name)
            files = []
        try:
            _register_table(con, source, name, files, gone.get(name, {}))
        except duckdb.Error as exc:
            paths = [path for path, _ in files or []]
            problem = damaged_file(name, paths)
            if problem is None and name in WIDE_TABLES:  # readable, of other columns
                earlier.add(name)
                _register_table(con, source, name, [])
                continue
            problem = problem or DamagedTable(name, None, str(exc)[:200])
            if damaged is None:
                raise problem from exc
            damaged[name] = problem
            _register_damaged(con, name, problem)
    return earlier


def _register_damaged(con: duckdb.DuckDBPyConnection, name: str, problem: DamagedTable) -> None:
    """A view with the table's columns that fails when read (never an empty table: that would
    be a wrong answer)."""
    schema = pa.schema([f.with_nullable(True) for f in TABLES[name].schema])
    con.register(f"_{name}_damaged", pa.Table.from_arrays([pa.nulls(1, f.type) for f in schema],
                                                          schema=schema))
    con.execute(f"CREATE OR REPLACE VIEW _{name} AS SELECT * FROM _{name}_damaged "
                f"WHERE error({quote(str(problem))}) IS NULL")


def _register_table(con: duckdb.DuckDBPyConnection, source, name: str,
                    files: list[tuple[str, dict]] | None,
                    gone: removed.Removed | None = None) -> None:
    table = TABLES[name]
    if not files:
        con.register(f"_{name}_arrow", source.dataset(name) if files is None else
                     pa.Table.from_batches([], schema=table.schema))
        con.execute(f"CREATE OR REPLACE VIEW _{name} AS SELECT * FROM _{name}_arrow")
        return
    types = {c.name: c.type for c in table.columns}
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    if len(table.partition_by) == 1 and all(not c.nullable for c in table.columns
                                            if c.name in table.partition_by):
        # A partition column never null (the wide tables' bucket, many partitions): one scan,
        # the value read from the Hive-style folder name Delta writes (bucket=7/...).
        column = table.partition_by[0]
        # (every file has the table's schema: a load rebuilds a wide table whose columns
        # changed, so DuckDB need not open every file to bind the view; the rows a load
        # removed from a wide table's files are left out: removed.py)
        live = removed.live_sql(con, name, [p for p, _ in files], gone or {},
                                f"hive_partitioning = true, hive_types = "
                                f"{{'{column}': {_SQL_TYPES[types[column]]}}}", columns)
        con.execute(f"CREATE OR REPLACE VIEW _{name} AS {live}")
        return
    by_partition: dict[tuple, list[str]] = {}
    for path, partition in files:
        by_partition.setdefault(tuple(partition.get(p) for p in table.partition_by),
                                []).append(path)
    selects = []
    for values, paths in by_partition.items():
        constants = "".join(
            f", {'NULL' if v is None else quote(str(v))}::{_SQL_TYPES[types[p]]} AS \"{p}\""
            for p, v in zip(table.partition_by, values, strict=True))
        listing = ", ".join(quote(p) for p in paths)
        selects.append(f"SELECT * {constants} FROM read_parquet([{listing}], "
                       f"union_by_name = true, hive_partitioning = false)")
    union = "(" + " UNION ALL BY NAME ".join(selects) + ")"
    try:
        con.execute(f"CREATE OR REPLACE VIEW _{name} AS SELECT {columns} FROM {union}")
    except duckdb.BinderException:
        # A column added since every file was written (reports.agency_of): null until a load
        # writes the table again.
        stored = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {union}").fetchall()}
        columns = ", ".join(f'"{c.name}"' if c.name in stored else
                            f'NULL::{_SQL_TYPES[c.type]} AS "{c.name}"' for c in table.columns)
        con.execute(f"CREATE OR REPLACE VIEW _{name} AS SELECT {columns} FROM {union}")


_SQL_TYPES = {pa.int64(): "BIGINT", pa.string(): "VARCHAR", pa.bool_(): "BOOLEAN",
              pa.float64(): "DOUBLE", pa.date32(): "DATE"}


def connect(data_dir: Path, damaged: dict[str, DamagedTable] | None = None
            ) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with every warehouse view defined.

    A damaged table raises ``DamagedTable``; given ``damaged``, it is recorded there instead and
    the views over the other tables answer."""
    con = duckdb.connect()
    con.execute("SET autoinstall_known_extensions = false; SET autoload_known_extensions = false")
    earlier = register_tables(con, Warehouse(data_dir), damaged)
    for name in ("documents", "reports", "runs", "agencies"):
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM _{name}")
    # Cells and findings carry their report's agency_id (resolved again by every load).
    con.execute("CREATE OR REPLACE VIEW cells AS SELECT c.*, r.agency_id FROM _cells c "
                "LEFT JOIN _reports r USING (report_id)")
    con.execute("CREATE OR REPLACE VIEW quality_history AS SELECT q.*, r.agency_id "
                "FROM _quality q LEFT JOIN _reports r USING (report_id)")
    # Current findings: report rules of loaded reports; for cross-report rules, per rule and
    # scope, the findings of the latest run that checked that scope.
    con.execute("""
        CREATE OR REPLACE VIEW quality AS
        SELECT * FROM quality_history q
        WHERE q.scope = 'report' AND q.report_id IN (SELECT report_id FROM _reports)
        UNION ALL
        SELECT * EXCLUDE (latest) FROM (
            SELECT q.*, max(q.run_id) OVER (PARTITION BY q.rule, q.scope) AS latest
            FROM quality_history q WHERE q.scope <> 'report')
        WHERE run_id = latest""")
    published = Warehouse(data_dir).published()
    con.execute(f"CREATE OR REPLACE MACRO bucket_of(agency) AS {bucket_sql('agency')}")
    for view, table in WIDE_TABLES.items():
        if (view in published or not published) and view not in earlier:
            con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM _{view}")
            agency = "agency_bucket = bucket_of(wanted) AND agency_of = wanted"
        else:  # written before the wide tables (or their layout): computed until the next
            con.execute(wide_view_sql(view, table))  # load writes them
            agency = "coalesce(agency_id, agency_key) = wanted"
        # One agency's rows, every year (an agency_id, or the agency_key of a name not
        # recognised): its partition named, DuckDB opens only that partition's files, and
        # skips the row groups of other agencies (sorted by agency_of: min/max statistics).
        con.execute(f"CREATE OR REPLACE MACRO {view.removesuffix('_wide')}_of(wanted) AS TABLE "
                    f"SELECT * FROM {view} WHERE {agency} ORDER BY year, report_id")
    return con
