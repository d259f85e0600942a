"""DuckDB over the warehouse: the views researchers query, at the published snapshot.

Tables are read through deltalake's pyarrow datasets (DuckDB's delta extension would need a
download); extension auto-install and auto-load are off, so a query never reaches the network.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from extract.schema import SCHEMA, TEMPLATES
from warehouse.schema import TABLES
from warehouse.store import Warehouse

WIDE_TABLES = {"requests_wide": "requests", "disclosure_wide": "disclosure",
               "appeals_wide": "appeals"}
REPORT_COLUMNS = ("report_id", "agency", "agency_key", "region", "year", "template_disclosure",
                  "template_requests", "format", "publish_date", "portal_id", "source_url")


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


def connect(data_dir: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with every warehouse view defined."""
    warehouse = Warehouse(data_dir)
    con = duckdb.connect()
    con.execute("SET autoinstall_known_extensions = false; SET autoload_known_extensions = false")
    for name in TABLES:
        con.register(f"_{name}", warehouse.dataset(name))
    for name in ("documents", "reports", "cells", "runs"):
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM _{name}")
    con.execute("CREATE OR REPLACE VIEW quality_history AS SELECT * FROM _quality")
    # Current findings: report rules of loaded reports, cross-report rules of the latest run.
    con.execute("""
        CREATE OR REPLACE VIEW quality AS SELECT q.* FROM _quality q
        WHERE (q.scope = 'report' AND q.report_id IN (SELECT report_id FROM _reports))
           OR (q.scope <> 'report' AND q.run_id =
               (SELECT max(run_id) FROM _quality WHERE scope <> 'report'))""")
    for view, table in WIDE_TABLES.items():
        con.execute(_wide_sql(view, table))
    return con
