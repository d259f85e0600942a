"""Crawl speed against the local test portal, politeness off. Run on demand, not in the tests.

    .venv/bin/python benchmarks/crawl.py [--repeat 3]

Starts tests/portal (all sites, loopback only), then for each repeat, in a fresh data folder:
a first crawl of every portal config, and a second, incremental crawl of the same portals (every
document answered 304 from the stored copy). Reports pages/s of the first crawl (every HTTP
request the portal served, robots.txt and challenges included) and the second crawl's time as a
fraction of the first. Both crawls run the real thing: ``python -m crawlers.run`` in a subprocess.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from flows.crawling import run_crawl  # noqa: E402
from tests.portal.expected import EXPECTED  # noqa: E402
from tests.portal.fixtures import start_portal, write_configs  # noqa: E402


def one_round(portal, workdir: Path, without: tuple[str, ...] = ()) -> dict:
    configs = write_configs(portal, workdir / "configs")[0].parent
    for portal_id in without:
        (configs / f"{portal_id}.yaml").unlink()
    portal.reset()
    started = time.perf_counter()
    first = run_crawl(configs, workdir / "data", delay=0)
    first_s = time.perf_counter() - started
    first_requests = len(portal.log)
    portal.log.clear()
    started = time.perf_counter()
    second = run_crawl(configs, workdir / "data", delay=0)
    second_s = time.perf_counter() - started
    return {
        "first_s": first_s, "second_s": second_s, "requests": first_requests,
        "second_requests": len(portal.log),
        "documents": sum(r.documents_new for r in first.reports),
        "second_new": sum(r.documents_new for r in second.reports),
        "pages_per_s": first_requests / first_s,
        "incremental_fraction": second_s / first_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    portal = start_portal()
    # The error site answers one page after 3 s on purpose: it bounds both crawls from below.
    slow = tuple(e.portal_id for e in EXPECTED.values()
                 if any(i.reason == "slow" for i in e.incidents))
    try:
        for title, without in (("all 10 portals", ()), (f"without {', '.join(slow)}", slow)):
            rounds = []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory(prefix="nianbao-crawl-bench-") as workdir:
                    rounds.append(one_round(portal, Path(workdir), without))
            print_rounds(f"crawl of the test portal, {title}, politeness off", rounds)
    finally:
        portal.stop()
    print("Both crawls include the crawler subprocess's start (Python + Scrapy imports, ~1 s).")


def print_rounds(title: str, rounds: list[dict]) -> None:
    table = Table(title=title)
    for column in ("round", "requests", "documents", "first crawl s", "pages/s",
                   "2nd crawl s", "2nd requests", "2nd new docs", "2nd / 1st"):
        table.add_column(column, justify="right")
    for n, r in enumerate(rounds, start=1):
        table.add_row(str(n), str(r["requests"]), str(r["documents"]), f"{r['first_s']:.2f}",
                      f"{r['pages_per_s']:.1f}", f"{r['second_s']:.2f}",
                      str(r["second_requests"]), str(r["second_new"]),
                      f"{r['incremental_fraction']:.2f}")
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    table.add_row("median", str(int(median["requests"])), str(int(median["documents"])),
                  f"{median['first_s']:.2f}", f"{median['pages_per_s']:.1f}",
                  f"{median['second_s']:.2f}", str(int(median["second_requests"])),
                  str(int(median["second_new"])), f"{median['incremental_fraction']:.2f}")
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
