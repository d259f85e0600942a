"""The nightly flow's crawl in shards and its extraction in batches. Run on demand, not in the
tests.

    .venv/bin/python benchmarks/nightly_shards.py [--documents 300] [--copies 3] [--shards 2]
                                                  [--only batches|crawl|overlap]

Three measurements, each against a baseline measured in the same run (timings on a shared
machine are noisy: compare the ratios, and repeat):

* ``batches``: ``--documents`` real documents (tests/data's HTML and DOCX reports, repeated)
  extracted through a Prefect flow against a real local Prefect API server, once as one task
  run per document and once as one task per batch of ``EXTRACT_BATCH`` (the nightly flow's
  way); the floor is the same pool without Prefect. Per-task overhead is the difference.
* ``crawl``: the test portal's configs, ``--copies`` times over (distinct ids, loopback,
  politeness off), crawled as one crawler process per portal, 4 at a time (the flow before
  shards), and as ``--shards`` shards of one crawler process each.
* ``overlap``: the nightly flow itself over the test portal in ``--shards`` shards: when the
  last shard finished, when the first extraction batch started, and how many batch-seconds of
  extraction ran before the crawl was over.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from flows.prefect_env import apply_prefect_env  # noqa: E402  (before Prefect is imported)

apply_prefect_env()
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

from crawlers.config import load_configs
from extract import Report
from extract.limits import shared_pool
from flows.crawling import deal_shards, run_crawl
from flows.pipeline import Candidate
from flows.shards import EXTRACT_BATCH, extract_batch
from tests.portal.fixtures import start_portal, write_configs
from warehouse.load import DocumentMeta

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SOURCES = ("shanghai_gov_office_2019.html", "weihai_2020.docx")
THREADS = 4


def _documents(count: int) -> list[Candidate]:
    items = []
    for n in range(count):
        path = DATA / SOURCES[n % len(SOURCES)]
        items.append(Candidate(hashlib.sha256(f"{n}".encode()).hexdigest(), path, path.suffix,
                               DocumentMeta(f"http://127.0.0.1/{n}{path.suffix}")))
    return items


@task(name="extract document")
def _extract_one(item: Candidate) -> Report:
    return shared_pool().extract(item.path, item.suffix, item.images, item.meta.source_url)


@flow(name="bench-per-document", task_runner=ThreadPoolTaskRunner(max_workers=THREADS))
def _per_document(documents: int) -> int:
    items = _documents(documents)
    futures = [_extract_one.submit(item) for item in items]
    return sum(1 for f in futures if f.result().error_code is None)


@flow(name="bench-batches", task_runner=ThreadPoolTaskRunner(max_workers=THREADS))
def _batches(documents: int) -> int:
    items = _documents(documents)
    futures = [extract_batch.submit(None, items[i:i + EXTRACT_BATCH])
               for i in range(0, len(items), EXTRACT_BATCH)]
    return sum(1 for f in futures for r in f.result().reports if r.error_code is None)


def bench_batches(documents: int) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.children import prefect_server

    items = _documents(documents)
    pool = shared_pool()
    list(pool.map([(i.path, i.suffix) for i in items[:len(SOURCES) * 2]]))  # workers warm
    started = time.perf_counter()
    floor_ok = sum(1 for r in pool.map([(i.path, i.suffix) for i in items])
                   if r.error_code is None)
    floor = time.perf_counter() - started
    with prefect_server() as url, temporary_settings(updates={PREFECT_API_URL: url}):
        _batches(EXTRACT_BATCH)  # Prefect's first-use costs, not counted
        timings = {}
        for name, run in (("per-document tasks", _per_document), ("batches", _batches)):
            started = time.perf_counter()
            ok = run(documents)
            timings[name] = time.perf_counter() - started
            assert ok == floor_ok, (name, ok, floor_ok)
    print(f"batches: {documents} documents ({floor_ok} read), {pool.workers} pool workers, "
          f"{THREADS} task threads")
    print(f"  no Prefect (floor)   {floor:7.1f} s")
    for name, seconds in timings.items():
        print(f"  {name:20s} {seconds:7.1f} s  {seconds / floor:5.2f}x floor")
    print(f"  per-document / batches: {timings['per-document tasks'] / timings['batches']:.2f}x")


def _portal_copies(portal, root: Path, copies: int) -> list[Path]:
    written = write_configs(portal, root / "one")
    paths = []
    for copy in range(copies):
        for path in written:
            text = path.read_text(encoding="utf-8").replace("id: ", f"id: c{copy}-", 1)
            target = root / "configs" / f"c{copy}-{path.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            paths.append(target)
    return paths


def bench_crawl(copies: int, shards: int) -> None:
    portal = start_portal()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            paths = _portal_copies(portal, root, copies)
            portal.reset()
            started = time.perf_counter()
            with ThreadPoolExecutor(THREADS) as threads:
                per_portal = list(threads.map(
                    lambda p: run_crawl(p, root / "per-portal", delay=0, log_level="WARNING"),
                    paths))
            per_portal_s = time.perf_counter() - started
            dealt = deal_shards(load_configs(root / "configs"), shards)
            portal.reset()
            started = time.perf_counter()
            with ThreadPoolExecutor(len(dealt)) as threads:
                sharded = list(threads.map(
                    lambda s: run_crawl([c.source for c in s], root / "sharded", delay=0,
                                        log_level="WARNING"), dealt))
            sharded_s = time.perf_counter() - started
    finally:
        portal.stop()
    new = [sum(r.documents_new for res in results for r in res.reports)
           for results in (per_portal, sharded)]
    print(f"crawl: {len(paths)} portals ({copies} copies of the test portal), politeness off")
    print(f"  a process per portal, {THREADS} at a time {per_portal_s:7.1f} s  "
          f"({new[0]} documents new)")
    print(f"  {len(dealt)} shards, a process each         {sharded_s:7.1f} s  "
          f"({new[1]} documents new)  {per_portal_s / sharded_s:.1f}x faster")


def bench_overlap(shards: int) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.children import prefect_server
    from flows.nightly import nightly

    portal = start_portal()
    try:
        with tempfile.TemporaryDirectory() as tmp, prefect_server() as url, \
                temporary_settings(updates={PREFECT_API_URL: url}):
            write_configs(portal, Path(tmp) / "configs")
            started = time.time()
            state = nightly(portals=str(Path(tmp) / "configs"), data_dir=str(Path(tmp) / "data"),
                            delay=0, shards=shards, return_state=True)
            total = time.time() - started
            result = state.result()
    finally:
        portal.stop()
    crawl_end = max(s.finished for s in result.shards)
    batches = result.batches
    before = sum(max(0.0, min(b.finished, crawl_end) - b.started) for b in batches)
    work = sum(b.finished - b.started for b in batches)
    first = min((b.started for b in batches), default=crawl_end)
    print(f"overlap: nightly flow, {len(result.shards)} shards, "
          f"{result.documents_extracted} documents in {len(batches)} batches, {total:.1f} s")
    for s in result.shards:
        print(f"  shard {s.shard}: {len(s.portals)} portals, finished at "
              f"{s.finished - started:6.1f} s")
    print(f"  first batch started at {first - started:6.1f} s, the crawl ended at "
          f"{crawl_end - started:6.1f} s; {before:.1f} of {work:.1f} batch-seconds ran "
          f"before the crawl ended")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--only", choices=("batches", "crawl", "overlap"))
    args = parser.parse_args()
    if args.only in (None, "batches"):
        bench_batches(args.documents)
    if args.only in (None, "crawl"):
        bench_crawl(args.copies, args.shards)
    if args.only in (None, "overlap"):
        bench_overlap(args.shards)


if __name__ == "__main__":
    main()
