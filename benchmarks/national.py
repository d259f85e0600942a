"""National scale: crawl and run over a thousand (and ten thousand) loopback portals. On demand.

    .venv/bin/python benchmarks/national.py [--portals 1000] [--large 10000] [--only s,a,b,c,d]
                                             [--delay 0.5] [--timeout 3600] [--keep DIR]

Starts the mass portal (benchmarks/mass_portal.py: one server process, a host per 127.a.b.c
address, each a TRS column with three generated 2021-template reports) and writes one portal
YAML per host (``delay`` seconds between requests to a host). The figures:

  s) the server alone: 5,000 document requests from a plain asyncio client (keep-alive, 50
     connections on 50 hosts), so a slow figure below is not the server's;
  a) ``nianbao crawl`` of --portals portals (the CLI, a subprocess, end to end): wall, CPU of
     the process tree, requests served, CPU ms per request, peak memory (PSS) of the tree;
  b) ``nianbao run`` (crawl, extract every report, load, checks) over the same portals into a
     fresh data dir: wall, peak memory, the phase split (from the flow's log lines, timed as they
     arrive), and the warehouse read back: every report's cells against the generator's;
  c) a second ``nianbao run`` over the unchanged portals: requests by kind; a document request
     is a failure (exit 1): an unchanged document is read from the store, not fetched;
  d) ``nianbao crawl`` of --large portals in one crawler process: peak memory, wall, CPU/request.

Each wall time is printed beside the politeness floor, the most any one host's requests must
take (requests to the busiest host x delay), and as a ratio to it. The machine is shared: CPU
and wall figures are noisy; compare ratios from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.mass_portal import MassPortal, articles, host_address  # noqa: E402
from benchmarks.proctree import Measured, measure  # noqa: E402
from flows.prefect_env import apply_prefect_env  # noqa: E402

NIANBAO = str(Path(sys.executable).with_name("nianbao"))
GIB = 1 << 30
TARGETS = {"cpu_ms_per_request": 5.0, "run_wall_s": 120.0, "run_peak": 2 * GIB,
           "large_peak": 4 * GIB}


def environment() -> dict[str, str]:
    # COLUMNS: rich wraps nothing, so the flow's log lines stay whole
    return dict(apply_prefect_env({**os.environ, "COLUMNS": "200"}))


def keep_output(m: Measured, path: Path) -> None:
    """The command's output with each line's arrival time, for a closer look at a slow phase."""
    path.write_text("".join(f"{t:8.2f}  {line}\n" for t, line in m.lines), encoding="utf-8")


class Window:
    """The server's requests during one measured command."""

    def __init__(self, portal: MassPortal) -> None:
        self.portal, self.skip = portal, len(portal.requests())

    def close(self) -> list[tuple[float, int, str, int, str]]:
        return self.portal.requests()[self.skip:]


def floor_s(requests: list, delay: float) -> float:
    """Politeness floor: the busiest host's request count x the delay between its requests."""
    per_host = Counter(host for _, host, *_ in requests)
    return max(per_host.values(), default=0) * delay


def mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB"


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "OVER TARGET"


def report_line(title: str, m: Measured, requests: list, delay: float,
                crawl_only: bool = True) -> None:
    floor = floor_s(requests, delay)
    ratio = f"{m.wall_s / floor:.1f}x floor" if floor else "no floor"
    per_request = m.cpu_s * 1000 / len(requests) if requests else float("nan")
    print(f"\n== {title}")
    if m.timed_out:
        print(f"   DID NOT FINISH: killed after {m.wall_s:.0f} s (--timeout); the figures below "
              "are up to then (CPU: only of processes reaped before the kill)")
    print(f"   exit {m.returncode}; wall {m.wall_s:.1f} s vs politeness floor {floor:.1f} s "
          f"({ratio}); requests served {len(requests)}")
    target = TARGETS["cpu_ms_per_request"]
    cpu = (f"{per_request:.2f} ms per request (target <= {target:.0f}: "
           f"{verdict(per_request, target)})" if crawl_only else "crawl, extraction and load")
    print(f"   CPU of the process tree {m.cpu_s:.1f} s = {cpu}; "
          f"peak memory (PSS) of the tree {mib(m.peak_memory)} over up to {m.peak_processes} "
          "processes")
    print("   at the peak: " + "; ".join(f"{name} {mib(size)}" for name, size in sorted(
        m.peak_by_process.items(), key=lambda item: -item[1])))


# -- s) the server alone ---------------------------------------------------------------------------

async def _client(portal: MassPortal, host: int, count: int) -> int:
    reader, writer = await asyncio.open_connection(host_address(host), portal.port)
    served = 0
    for n in range(count):
        path = articles(host)[n % 3].path
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host_address(host)}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        await reader.readexactly(length)
        served += 1
    writer.close()
    return served


def server_check(portal: MassPortal, requests: int = 5000, connections: int = 50) -> None:
    hosts = min(connections, portal.hosts)
    cpu_before, started = portal.cpu_seconds(), time.perf_counter()

    async def all_clients() -> int:
        counts = await asyncio.gather(*(_client(portal, h, requests // hosts)
                                        for h in range(hosts)))
        return sum(counts)

    served = asyncio.run(all_clients())
    wall, cpu = time.perf_counter() - started, portal.cpu_seconds() - cpu_before
    print(f"\n== s) the mass portal alone: {served} document pages to a plain client over "
          f"{hosts} keep-alive connections")
    print(f"   {wall:.2f} s wall ({served / wall:,.0f} requests/s); server CPU {cpu:.2f} s = "
          f"{cpu * 1000 / served:.2f} ms per request (rendering a report page included)")


# -- a) and d): crawl only -----------------------------------------------------------------------

def crawl_figure(title: str, portal: MassPortal, hosts: int, delay: float, work: Path,
                 timeout: float) -> None:
    configs = portal.write_configs(work / f"configs-{hosts}", delay, hosts)
    window = Window(portal)
    server_cpu = portal.cpu_seconds()
    m = measure([NIANBAO, "crawl", "--portals", str(configs), "--data-dir",
                 str(work / f"crawl-{hosts}"), "--json"], env=environment(), timeout=timeout)
    keep_output(m, work / f"crawl-{hosts}.log")
    requests = window.close()
    report_line(title, m, requests, delay)
    reports = [json.loads(line) for _, line in m.lines if line.startswith("{")]
    print(f"   crawl reports by status {dict(Counter(r['status'] for r in reports))}; "
          f"requests by kind {dict(Counter(kind for _, _, kind, *_ in requests))}; "
          f"server CPU {portal.cpu_seconds() - server_cpu:.1f} s")
    troubles = Counter(f"{r['status']}: {r.get('message')}" for r in reports
                       if r["status"] != "ok")
    for trouble, count in troubles.most_common(3):
        print(f"   {count} x {trouble}")
    if m.returncode not in (0, 3):
        print("\n".join(line for _, line in m.lines[-20:]))


# -- b) and c): the whole run --------------------------------------------------------------------

PHASES = (("start", "crawling"), ("crawl", "extracting"), ("extract, load, checks", "reports new"))


def phase_split(m: Measured) -> str:
    marks, parts, previous = [0.0], [], 0.0
    for name, needle in PHASES:
        at = m.first(needle)
        if at is None:
            return "phase split unavailable (flow log lines not found)"
        parts.append(f"{name} {at - previous:.1f} s")
        marks.append(at)
        previous = at
    parts.append(f"summary and exit {m.wall_s - previous:.1f} s")
    return "; ".join(parts)


def read_back(data_dir: Path, hosts: int) -> str:
    """Every loaded report's cells against what the mass portal generated for it."""
    from tests.portal.pages import report_cells
    from warehouse.views import connect

    con = connect(data_dir)
    rows = con.sql("SELECT r.agency, r.year, c.\"table\" || '/' || c.\"row\" || '/' || c.col, "
                   "c.value FROM reports r JOIN cells c USING (report_id)").fetchall()
    found: dict[tuple[str, int], dict[str, float | None]] = {}
    for agency, year, key, value in rows:
        found.setdefault((agency, year), {})[key] = value
    exact = sum(1 for (agency, year), cells in found.items()
                if cells == {k: float(v) for k, v in report_cells(f"{agency}|{year}").items()})
    return f"{len(found)} reports loaded (expected {hosts * 3}), {exact} exactly as generated"


def run_figure(title: str, portal: MassPortal, hosts: int, delay: float, work: Path,
               data_dir: Path, second: bool, timeout: float) -> bool:
    configs = portal.write_configs(work / f"configs-{hosts}", delay, hosts)
    window = Window(portal)
    m = measure([NIANBAO, "run", "--portals", str(configs), "--data-dir", str(data_dir)],
                env=environment(), timeout=timeout)
    keep_output(m, work / f"run-{hosts}{'-second' if second else ''}.log")
    requests = window.close()
    report_line(title, m, requests, delay, crawl_only=False)
    if not second:
        print(f"   wall target <= {TARGETS['run_wall_s']:.0f} s: "
              f"{verdict(m.wall_s, TARGETS['run_wall_s'])}; peak target <= 2 GiB: "
              f"{verdict(m.peak_memory, TARGETS['run_peak'])}")
    print(f"   {phase_split(m)}")
    print("   " + next((line.strip() for _, line in reversed(m.lines)
                        if "completed" in line), "no completion message"))
    if m.returncode != 0:
        print("\n".join(line for _, line in m.lines[-30:]))
        return False
    if not second:
        print(f"   read back: {read_back(data_dir, hosts)}")
        return True
    kinds = Counter((kind, status) for _, _, kind, status, _ in requests)
    print("   requests by kind and status: "
          + ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(kinds.items())))
    documents = [r for r in requests if r[2] == "document"]
    if documents:
        print(f"   FAIL: the second run requested {len(documents)} documents, e.g. "
              f"{documents[0][4]} on host {documents[0][1]}")
        return False
    print("   no document requested: only list pages and robots.txt")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10000)
    parser.add_argument("--only", default="s,a,b,c,d", help="Figures to run: s, a, b, c, d.")
    parser.add_argument("--delay", type=float, default=0.5,
                        help="Seconds between requests to one host (the portal YAMLs' delay).")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="Seconds before a measured command's process tree is killed.")
    parser.add_argument("--keep", type=Path, help="Work here and keep it (default: a temp dir).")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if "c" in only and "b" not in only:
        parser.error("c (the second run) needs b (the first) in the same invocation")
    hosts = max(args.portals, args.large if "d" in only else 0)
    ok = True
    with tempfile.TemporaryDirectory(prefix="nianbao-national-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with MassPortal(hosts, work) as portal:
            print(f"mass portal: {hosts} hosts on port {portal.port} "
                  f"({host_address(0)} … {host_address(hosts - 1)}), up in "
                  f"{time.perf_counter() - started:.1f} s; delay {args.delay} s")
            if "s" in only:
                server_check(portal)
            if "a" in only:
                crawl_figure(f"a) nianbao crawl, {args.portals} portals", portal, args.portals,
                             args.delay, work, args.timeout)
            if "b" in only:
                ok &= run_figure(f"b) nianbao run, {args.portals} portals", portal,
                                 args.portals, args.delay, work, work / "run-data", False,
                                 args.timeout)
            if "c" in only and ok:
                ok &= run_figure(f"c) second nianbao run, {args.portals} unchanged portals",
                                 portal, args.portals, args.delay, work, work / "run-data", True,
                                 args.timeout)
            if "d" in only:
                crawl_figure(f"d) nianbao crawl, {args.large} portals in one shard", portal,
                             args.large, args.delay, work, args.timeout)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
