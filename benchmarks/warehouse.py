"""Warehouse scale: load and query synthetic warehouses of growing size. Run on demand.

    .venv/bin/python benchmarks/warehouse.py [--sizes 10000,100000,1000000] [--workdir DIR]
        [--keep] [--reuse] [--figures a,b,w1,nightly] [--baseline CHECKOUT]
        [--chunk REPORTS] [--mem-limit GiB] [--no-nightly] [--explain]

N reports (N/6 agencies over the 31 provinces, 2019-2024, the real cell keys: 221 cells on the
2019 templates, 225 on 2021's) are generated vectorised, a chunk of whole agencies at a time, and
streamed into the product's writer (``Warehouse.transaction``, ``tx.append``); agency ids, the
agencies table and the wide tables are then written as a load writes them. Measured: the load
(s, cells/s, peak RSS), bytes per cell on disk; through ``warehouse.views.connect`` (best of 3),
each beside today's SQL over ``cells`` on the same data, as a ratio: (a) the national aggregate,
requests/new/total by year and province, both checked against the generator's sums, (b) one
agency's six years: long, via the view over cells the wide tables replaced, via
``requests_wide`` filtered by name, and via ``requests_of`` given the agency's id (looked up
first, untimed: the path that names the agency's partition); W1 of the 20 agencies a nightly load touches, over cells and over the
touched partitions of ``requests_wide``; the nightly ``load_reports`` of 20 reports (10 new
agencies, 10 reposts that move canonical flags and meet W4) on a hard-linked copy of the
warehouse, with the bytes it wrote, and beside it the same load by --baseline's code (another
checkout, e.g. made by ``git worktree add ../before <commit>``) on the same warehouse.
--keep --reuse builds a size once and measures it again (1M takes long to generate on a small
machine). Each runs in a child process, so its peak RSS is its own; past --mem-limit (default
60% of RAM) it is stopped and shown FAILED. Free disk is checked first. Sizes grow 10x: ~10x is
linear. On a shared machine the times are noisy: compare the ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

# This file is named warehouse.py: take its folder off the path so `warehouse` is the package.
_HERE, _ROOT = Path(__file__).resolve().parent, Path(__file__).resolve().parents[1]
sys.path[:] = [str(_ROOT), *(p for p in sys.path if Path(p or ".").resolve() != _HERE)]

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.warehouse_gen import (
    NIGHTLY,
    PROVINCES,
    YEARS,
    agency_names,
    build,
    nightly_agencies,
    nightly_reports,
)
from warehouse import wide

REPEAT, GUARD_EXIT = 3, 3


# -- jobs: each runs in its own child process -----------------------------------------------------

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


def job_load(spec: dict, workdir: Path) -> dict:
    n = spec["n"]
    stats = build(workdir, n, spec["chunk"])
    files = [p for p in (workdir / "warehouse" / "cells").rglob("*") if p.is_file()]
    return {**stats, "reports": n, "cells_per_s": stats["cells"] / stats["load_s"],
            "cells_files": len(files),
            "bytes_per_cell": sum(p.stat().st_size for p in files) / stats["cells"],
            "agency": agency_names(np.array([n // len(YEARS) // 2]))[0][0].as_py()}


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


def job_nightly(spec: dict, workdir: Path) -> dict:
    """``load_reports`` on a copy of the size-N warehouse (hard links: Delta files are never
    changed in place), so the kept warehouse stays as built and can be measured again with
    --reuse; with --explain under cProfile (slower), its functions by cumulative time
    printed. ``spec["code"]``: the checkout whose ``warehouse`` package loads (the baseline)."""
    import cProfile
    import pstats

    if spec.get("code"):
        for name in [m for m in sys.modules if m == "warehouse" or m.startswith("warehouse.")]:
            del sys.modules[name]
        sys.path.insert(0, spec["code"])
    from warehouse.load import load_reports
    from warehouse.store import Warehouse as Loaded
    copy = workdir.with_name(workdir.name + "-nightly")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(workdir, copy, copy_function=os.link)
    lock = copy / "warehouse" / ".lock"  # (written in place by the loader: a copy of its own)
    if lock.exists():
        lock.unlink()
        shutil.copy(workdir / "warehouse" / ".lock", lock)
    reports, profile = nightly_reports(spec["agencies"]), cProfile.Profile()
    try:
        t0 = time.perf_counter()
        if spec["explain"]:
            profile.enable()
        outcome = load_reports(Loaded(copy), reports, corrections=[])
        profile.disable()
        seconds = time.perf_counter() - t0
        if spec["explain"]:
            pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        canonical = Loaded(copy).read("reports", columns=["canonical"])["canonical"]
        written = sum(p.stat().st_size for p in copy.rglob("*") if p.is_file()
                      and p.stat().st_nlink == 1 and p.name != ".lock")
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    return {"nightly_s": seconds, "loaded": outcome.reports_loaded, "nightly_written": written,
            "findings": Counter(f"{f['rule']} {f['status']}" for f in outcome.findings),
            "reports_after": len(canonical), "canonical_after": pc.sum(canonical).as_py()}


def mem_guard(limit: int, floor: int = 2 * 2**30) -> None:
    """Exit with GUARD_EXIT once this process's RSS passes ``limit`` or the machine's available
    memory falls below ``floor`` (no swap, shared machine); checks every 50 ms."""
    def kib(path: str, field: str) -> int:
        return next(int(line.split()[1]) for line in Path(path).read_text().splitlines()
                    if line.startswith(field + ":"))
    while not time.sleep(0.05):
        rss = kib("/proc/self/status", "VmRSS") << 10
        if rss > limit or kib("/proc/meminfo", "MemAvailable") << 10 < floor:
            print(f"\nABORT (memory guard): RSS {gib(rss)}", file=sys.stderr, flush=True)
            os._exit(GUARD_EXIT)


# -- the parent: sizes, disk, table ---------------------------------------------------------------

def run_job(job: str, spec: dict, workdir: Path, args) -> tuple[dict | None, str | None, int]:
    """(result, why it failed, peak RSS in bytes) of one job in a child process; a result
    printed before a crash at exit is kept, and the crash reported."""
    t0 = time.perf_counter()
    child = subprocess.Popen(  # cwd: DuckDB spills to ./.tmp
        [sys.executable, __file__, "--job", job, "--spec", json.dumps(spec, ensure_ascii=False),
         "--workdir", str(workdir), "--mem-limit", str(args.mem_limit)],
        stdout=subprocess.PIPE, cwd=workdir.parent)
    out, (_, status, usage) = child.stdout.read(), os.wait4(child.pid, 0)
    child.returncode = code = os.waitstatus_to_exitcode(status)
    why = code and (f"{'stopped by the memory guard' if code == GUARD_EXIT else f'exit {code}'} "
                    f"after {time.perf_counter() - t0:.0f} s")
    try:
        return json.loads(out), why and f"{why}, after printing its result", usage.ru_maxrss << 10
    except ValueError:
        return None, why or "printed no result", usage.ru_maxrss << 10


def run_size(n: int, root: Path, args) -> dict:
    workdir, r = root / f"n{n}", {"reports": n, "failures": {}}
    built = workdir / "load.json"  # the load's result, beside a warehouse kept as it was built
    jobs = [("query", q, {"query": q}) for q in QUERIES if q.split("_")[0] in args.figures]
    if "nightly" in args.figures:
        jobs += [("nightly", "nightly_before", {"code": str(args.baseline)})] * bool(
            args.baseline) + [("nightly", "nightly", {})]
    if args.reuse and built.exists():
        r.update(json.loads(built.read_text()))
    else:
        shutil.rmtree(workdir, ignore_errors=True)
        jobs.insert(0, ("load", "load", {"n": n, "chunk": args.chunk}))
    for job, name, spec in jobs:
        print(f"{n:,} reports: {name}", file=sys.stderr, flush=True)
        spec.update(explain=args.explain, agency=r.get("agency"), agencies=r.get("agencies"))
        got, why, r[f"{name}_rss"] = run_job(job, spec, workdir, args)
        r["failures"].update({name: why} if why else {})
        if got is None and job == "load":
            break
        if got and job == "load":
            built.write_text(json.dumps(got, ensure_ascii=False))
        if got and name == "nightly_before":
            got = {"nightly_before_s": got["nightly_s"],
                   "nightly_before_written": got["nightly_written"]}
        if got and job == "query":
            got = {f"{name}_s": min(got["times"]), f"{name}_times": got["times"],
                   f"{name}_rows": got["rows"], "connect_s": got["connect_s"],
                   f"{name}_result": got["result"]}
        r.update(got or {})
    for query in ("a_cells", "a_wide"):  # both against the generator's sums
        if f"{query}_result" in r and "expected" in r:  # (a warehouse built elsewhere: none)
            sums, regions = np.zeros((len(YEARS), len(PROVINCES))), list(PROVINCES)
            for year, region, total in r.pop(f"{query}_result"):
                sums[year - YEARS[0], regions.index(region)] = total or 0
            r[f"{query}_correct"] = bool(np.allclose(sums, r["expected"]))
    r["a_correct"] = all(r.get(f"{q}_correct", True) for q in ("a_cells", "a_wide"))
    for today, new in (("a_cells", "a_wide"), ("b_view", "b_wide"), ("w1_cells", "w1_wide"),
                       ("nightly_before", "nightly")):
        if r.get(f"{today}_s") and r.get(f"{new}_s"):
            r[f"{new}_speedup"] = r[f"{today}_s"] / r[f"{new}_s"]
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return r


def mib(v: float) -> str:
    return f"{v / 2**20:.1f} MiB"


def gib(v: float) -> str:
    return f"{v / 2**30:.2f} GiB"


METRICS = (  # key, title, format
    ("cells", "cells", "{:,.0f}"), ("load_s", "load (s)", "{:.1f}"),
    ("generate_s", "  of which generating (s)", "{:.1f}"), ("cells_per_s", "  cells/s", "{:,.0f}"),
    ("load_rss", "  peak RSS", gib), ("bytes_per_cell", "bytes per cell (on disk)", "{:.2f}"),
    ("cells_files", "cells: files", "{}"), ("connect_s", "views.connect (s)", "{:.3f}"),
    ("identify_s", "  agency ids, agencies (s)", "{:.1f}"),
    ("wide_s", "  wide tables built (s)", "{:.1f}"),
    ("a_cells_s", "(a) national aggregate, cells (s)", "{:.3f}"),
    ("a_wide_s", "(a) national aggregate, wide (s)", "{:.3f}"),
    ("a_wide_speedup", "  today / materialized", "{:.1f}x"), ("a_wide_rss", "  peak RSS", gib),
    ("b_long_s", "(b) agency history, long (s)", "{:.3f}"),
    ("b_view_s", "(b) history, view over cells (s)", "{:.3f}"),
    ("b_name_s", "(b) history, requests_wide by name (s)", "{:.4f}"),
    ("b_wide_s", "(b) history, requests_of(agency) (s)", "{:.4f}"),
    ("b_wide_speedup", "  today / materialized", "{:.0f}x"), ("b_wide_rss", "  peak RSS", gib),
    ("w1_cells_s", "W1 of 20 agencies, cells (s)", "{:.3f}"),
    ("w1_wide_s", "W1 of 20 agencies, wide (s)", "{:.3f}"),
    ("w1_wide_speedup", "  today / clustered", "{:.1f}x"),
    ("nightly_before_s", f"nightly load of {NIGHTLY}, --baseline (s)", "{:.2f}"),
    ("nightly_before_written", "  bytes written", mib),
    ("nightly_before_rss", "  peak RSS", gib),
    ("nightly_s", f"nightly load_reports of {NIGHTLY} (s)", "{:.2f}"),
    ("nightly_speedup", "  baseline / this checkout", "{:.1f}x"),
    ("nightly_written", "  bytes written", mib), ("nightly_rss", "  peak RSS", gib))


def print_table(results: list[dict]) -> None:
    def label(n: int) -> str:
        return f"{n // 10**6}M" if n % 10**6 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)

    def show(r: dict, key: str, form) -> str:  # a crash after the result shows the result
        if key in r:
            return form(r[key]) if callable(form) else form.format(r[key])
        return "FAILED" if {"load", key.rsplit("_", 1)[0]} & set(r["failures"]) else "-"

    pairs = list(pairwise(results))
    head = [label(r["reports"]) for r in results]
    head += [f"{label(b['reports'])}/{label(a['reports'])}" for a, b in pairs]
    print(f"\n{'metric':<36}" + "".join(f"{h:>14}" for h in head))
    for key, title, form in METRICS:
        ratios = [f"{b[key] / a[key]:.1f}x" if a.get(key) and key in b else "-" for a, b in pairs]
        print(f"{title:<36}" + "".join(f"{show(r, key, form):>14}" for r in results)
              + "".join(f"{v:>14}" for v in ratios))
    for r in results:
        print(f"\n{label(r['reports'])}: " + "; ".join(f"{k} {v}" for k, v in r["failures"].items())
              + f"\n  aggregate: {r.get('a_wide_rows')} rows, sums match the generator's: "
              f"cells {r.get('a_cells_correct')}, wide {r.get('a_wide_correct')}; "
              f"history of {r.get('agency')}: {r.get('b_long_rows')} rows "
              f"long, {r.get('b_wide_rows')} wide; all runs (s): "
              + str({q: [round(t, 3) for t in r.get(f"{q}_times", [])] for q in QUERIES}))
        if "nightly_s" in r:
            print(f"  nightly: {r['loaded']} reports; findings {dict(r['findings'])}; reports "
                  f"after {r['reports_after']:,}, canonical {r['canonical_after']:,}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--workdir", type=Path, help="where to build (default: a temporary dir)")
    parser.add_argument("--keep", action="store_true", help="keep the warehouses")
    parser.add_argument("--chunk", type=int, default=20_004, help="reports per generated chunk")
    parser.add_argument("--mem-limit", type=float, help="GiB of RSS that stops a measurement")
    parser.add_argument("--no-nightly", action="store_true", help="skip the nightly load")
    parser.add_argument("--reuse", action="store_true", help="measure warehouses kept by "
                        "--keep in --workdir again instead of building them (implies --keep)")
    parser.add_argument("--figures", default="a,b,w1,nightly",
                        help="what to measure: a (aggregate), b (history), w1, nightly")
    parser.add_argument("--baseline", type=Path, help="another checkout (e.g. main's): its "
                        "nightly load is measured on the same warehouse, as the 'before'")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of the queries, a profile of the nightly load")
    parser.add_argument("--job", choices=("load", "query", "nightly"), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.figures = set(args.figures.split(",")) - ({"nightly"} if args.no_nightly else set())
    args.keep = args.keep or args.reuse
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    args.mem_limit = args.mem_limit or round(0.6 * ram / 2**30, 1)
    if args.job:
        threading.Thread(target=mem_guard, args=(int(args.mem_limit * 2**30),), daemon=True).start()
        job = {"load": job_load, "query": job_query, "nightly": job_nightly}[args.job]
        print(json.dumps(job(json.loads(args.spec), args.workdir), ensure_ascii=False), flush=True)
        return 0
    import deltalake
    import duckdb
    print(f"{os.cpu_count()} cores, RAM {gib(ram)}, at most {args.mem_limit} GiB per measurement; "
          f"duckdb {duckdb.__version__}, deltalake {deltalake.__version__}", flush=True)
    root = args.workdir or Path(tempfile.mkdtemp(prefix="nianbao-warehouse-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    results = []
    try:  # disk needed: ~1 byte per cell measured; 4, and 2 GiB for DuckDB's spills, to be safe
        for n in (int(s) for s in args.sizes.replace("_", "").split(",") if s.strip()):
            need, free = n * 224 * 4 + 2 * 2**30, shutil.disk_usage(root).free
            results.append(run_size(n, root, args) if free >= need else {
                "reports": n, "failures": {"load": f"not run: {free / 1e9:.1f} GB of disk free, "
                                                   f"~{need / 1e9:.1f} GB needed"}})
    finally:
        shutil.rmtree(root / ".tmp", ignore_errors=True)
        if args.workdir is None and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print_table(results)
    return 1 if any(r["failures"] or not r.get("a_correct", True) for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
