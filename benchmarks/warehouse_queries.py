"""The queries benchmarks/warehouse.py times: each of today's SQL over ``cells`` beside the
materialized table's, on the same data; one agency's history as researchers run it (``nianbao
query`` end to end); and, on the warehouse a nightly load left, the aggregate and a reposted
agency's history (rows removed from their files read apart)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

from benchmarks.warehouse_gen import nightly_agencies
from warehouse import wide

REPEAT = 3  # each query's best of

QUERIES = {  # today's SQL over cells beside the materialized table, on the same data
    "a_cells": """SELECT r.year, r.region, sum(c.value)
        FROM cells c JOIN reports r USING (report_id)
        WHERE r.canonical AND c."table" = 'requests' AND c."row" = 'new' AND c.col = 'total'
        GROUP BY ALL""",
    "a_wide": "SELECT year, region, sum(new__total) FROM requests_wide GROUP BY ALL",
    "b_long": """SELECT r.year, c."table", c."row", c.col, c.value FROM cells c
        JOIN reports r USING (report_id) WHERE r.canonical AND r.agency = $agency
        ORDER BY r.year, c."table", c."row", c.col""",
    "b_view": "SELECT * FROM old_requests_wide WHERE agency = $agency ORDER BY year",
    "b_name": "SELECT * FROM requests_wide WHERE agency = $agency ORDER BY year",
    # the agency path: its id (looked up first, untimed), its partition named by requests_of
    "b_wide": "SELECT * FROM requests_of($agency_of)",
    # W1 for the 20 agencies a nightly load touches: today's scan of cells, the wide partitions
    "w1_cells": """WITH canon AS (SELECT report_id, agency_key, year FROM reports WHERE canonical
                       AND agency_key IN (SELECT agency FROM touched)),
        pairs AS (SELECT cur.report_id AS cur_id, prev.report_id AS prev_id
                  FROM canon cur JOIN canon prev
                  ON cur.agency_key = prev.agency_key AND prev.year = cur.year - 1)
        SELECT p.cur_id, cols.col, c.value, f.value FROM pairs p
        CROSS JOIN (SELECT unnest(['natural_person', 'total']) AS col) cols
        LEFT JOIN cells c ON c.report_id = p.cur_id AND c."table" = 'requests'
             AND c."row" = 'carried_over' AND c.col = cols.col
        LEFT JOIN cells f ON f.report_id = p.prev_id AND f."table" = 'requests'
             AND f."row" = 'carried_forward' AND f.col = cols.col""",
    "w1_wide": """WITH canon AS (SELECT report_id, agency_key, year FROM reports WHERE canonical
                       AND agency_key IN (SELECT agency FROM touched)),
        pairs AS (SELECT cur.report_id AS cur_id, prev.report_id AS prev_id
                  FROM canon cur JOIN canon prev
                  ON cur.agency_key = prev.agency_key AND prev.year = cur.year - 1),
        wide AS (SELECT * FROM requests_wide
                 WHERE agency_bucket IN (SELECT bucket FROM buckets))
        SELECT p.cur_id, [cw.carried_over__natural_person, cw.carried_over__total],
               [pw.carried_forward__natural_person, pw.carried_forward__total]
        FROM pairs p LEFT JOIN wide cw ON cw.report_id = p.cur_id
        LEFT JOIN wide pw ON pw.report_id = p.prev_id"""}


def job_query(spec: dict, workdir: Path) -> dict:
    from warehouse.views import connect, wide_view_sql
    t0 = time.perf_counter()
    con, sql, times = connect(workdir), QUERIES[spec["query"]], []
    connect_s = time.perf_counter() - t0
    con.execute(wide_view_sql("old_requests_wide", "requests"))  # today's view, for b_view
    touched = nightly_agencies(spec["agencies"])
    con.register("touched", pa.table({"agency": touched}))
    identities = [a for (a,) in con.execute(
        "SELECT DISTINCT coalesce(agency_id, agency_key) FROM reports "
        "WHERE agency_key IN (SELECT agency FROM touched)").fetchall()]
    con.register("buckets", pa.table({"bucket": sorted({wide.bucket_of(a) for a in identities})}))
    params = {name: value for name, value in (
        ("agency", spec["agency"]), ("agency_of", con.execute(
            "SELECT any_value(coalesce(agency_id, agency_key)) FROM reports WHERE agency = ?",
            [spec["agency"]]).fetchone()[0])) if re.search(rf"\${name}\b", sql)} or None
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        rows = con.execute(sql, params).fetchall()
        times.append(time.perf_counter() - t0)
    if spec["explain"]:
        print(con.execute("EXPLAIN ANALYZE " + sql, params).fetchall()[0][1], file=sys.stderr)
    return {"connect_s": connect_s, "times": times, "rows": len(rows),
            "result": rows if spec["query"].startswith("a_") else None}


def command_history(workdir: Path, agency: str) -> dict:
    """One agency's history the way a researcher runs it: ``nianbao query`` end to end (process
    start, connect, query, print), by name and through ``requests_of``; best of REPEAT."""
    from warehouse.views import connect, quote
    agency_of = connect(workdir).execute(
        "SELECT any_value(coalesce(agency_id, agency_key)) FROM reports WHERE agency = ?",
        [agency]).fetchone()[0]
    command = [str(Path(sys.executable).with_name("nianbao")), "query", "--data-dir",
               str(workdir), "--format", "csv"]
    out = {}
    for name, sql in (
            ("b_cmd_name", f"SELECT * FROM requests_wide WHERE agency = {quote(agency)} "
                           "ORDER BY year"),
            ("b_cmd_of", f"SELECT * FROM requests_of({quote(agency_of)})")):
        times = []
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            subprocess.run([*command, sql], check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        out[f"{name}_s"] = min(times)
    return out


def queries_after(workdir: Path, names: list[str]) -> dict:
    """On the warehouse the nightly load left (the reposts' old rows recorded removed, their
    files read apart): the national aggregate and a reposted agency's history through
    ``requests_of``, best of REPEAT, and how many rows are recorded removed."""
    from warehouse.views import connect
    con = connect(workdir)
    agency_of = con.execute(
        "SELECT agency_of FROM reports WHERE year = 2024 AND agency IN (SELECT unnest(?)) "
        "GROUP BY agency_of HAVING count(*) > 1 ORDER BY agency_of LIMIT 1", [names]).fetchone()[0]
    out = {"removed_rows": con.execute("SELECT count(*) FROM _wide_removed").fetchone()[0]}
    for key, sql, params in (("after_a_s", QUERIES["a_wide"], None),
                             ("after_b_s", QUERIES["b_wide"], {"agency_of": agency_of})):
        times = []
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            con.execute(sql, params).fetchall()
            times.append(time.perf_counter() - t0)
        out[key] = min(times)
    return out
