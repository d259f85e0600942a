"""DuckDB over the warehouse: the views researchers query, at the published snapshot.

Tables are read through deltalake's pyarrow datasets (DuckDB's delta extension would need a
download); extension auto-install and auto-load are off, so a query never reaches the network.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from extract.schema import SCHEMA, TEMPLATES
from warehouse.schema import TABLES
from warehouse.store import Warehouse

WIDE_TABLES = {"requests_wide": "requests", "disclosure_wide": "disclosure",
               "appeals_wide": "appeals"}
REPORT_COLUMNS = ("report_id", "agency", "agency_key", "agency_id", "region", "year",
                  "template_disclosure", "template_requests", "format", "publish_date",
                  "portal_id", "source_url")


def wide_keys(table: str) -> list[tuple[str, str]]:
    """(row, col) pairs of a table over both templates, in schema order, without repeats."""
    pairs: dict[tuple[str, str], None] = {}
    extra = ("org_subtotal",) if table == "requests" else ()
    for template in TEMPLATES:
        for row in SCHEMA[table].rows_for(template):
            for col in (*row.columns, *extra):
                if col == "org_subtotal" and "org_subtotal" in row.columns:
                    continue
                pairs[(row.key, col)] = None
    return list(pairs)


def _wide_sql(view: str, table: str) -> str:
    columns = ",\n  ".join(
        f"max(c.value) FILTER (WHERE c.\"row\" = '{row}' AND c.col = '{col}') AS \"{row}__{col}\""
        for row, col in wide_keys(table))
    keep = ", ".join(f"r.{c}" for c in REPORT_COLUMNS)
    return (f"CREATE OR REPLACE VIEW {view} AS SELECT {keep},\n  {columns}\n"
            f"FROM reports r LEFT JOIN cells c ON c.report_id = r.report_id "
            f"AND c.\"table\" = '{table}'\nWHERE r.canonical GROUP BY ALL")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def register_tables(con: duckdb.DuckDBPyConnection, source) -> None:
    """Views ``_documents``, ``_reports``, … over a Warehouse's (or a load's) current files.

    DuckDB reads the Parquet files itself (statistics, filter and join pushdown); a table whose
    files alone do not give its rows (deletion vectors, column mapping) is read through
    deltalake's pyarrow dataset instead.
    """
    for name, table in TABLES.items():
        files = source.files(name)
        if not files:
            con.register(f"_{name}_arrow", source.dataset(name) if files is None else
                         pa.Table.from_batches([], schema=table.schema))
            con.execute(f"CREATE OR REPLACE VIEW _{name} AS SELECT * FROM _{name}_arrow")
            continue
        by_partition: dict[tuple, list[str]] = {}
        for path, partition in files:
            by_partition.setdefault(tuple(partition.get(p) for p in table.partition_by),
                                    []).append(path)
        types = {c.name: c.type for c in table.columns}
        selects = []
        for values, paths in by_partition.items():
            constants = "".join(
                f", {'NULL' if v is None else _quote(str(v))}::{_SQL_TYPES[types[p]]} AS \"{p}\""
                for p, v in zip(table.partition_by, values, strict=True))
            listing = ", ".join(_quote(p) for p in paths)
            selects.append(f"SELECT * {constants} FROM read_parquet([{listing}], "
                           f"union_by_name = true, hive_partitioning = false)")
        columns = ", ".join(f'"{c.name}"' for c in table.columns)
        con.execute(f"CREATE OR REPLACE VIEW _{name} AS SELECT {columns} FROM ("
                    + " UNION ALL BY NAME ".join(selects) + ")")


_SQL_TYPES = {pa.int64(): "BIGINT", pa.string(): "VARCHAR"}


def connect(data_dir: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with every warehouse view defined."""
    con = duckdb.connect()
    con.execute("SET autoinstall_known_extensions = false; SET autoload_known_extensions = false")
    register_tables(con, Warehouse(data_dir))
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
    for view, table in WIDE_TABLES.items():
        con.execute(_wide_sql(view, table))
    return con
