"""Synthetic warehouses for benchmarks/warehouse.py, built in one pass in the wide tables' order.

N reports: N/6 agencies over the 31 provinces, 2019-2024, the real cell keys (221 cells on the
2019 templates, 225 on 2021's), generated vectorised. First every agency's identity is computed
as a load computes it (``identify``: its ``agency_id``, else its ``agency_key``), hence its wide
tables' partition (``wide.bucket_of``); then the agencies are generated partition by partition,
in the order ``wide`` sorts rows (partition, ``agency_of``, year), a chunk of whole
agencies of one partition at a time. Each chunk goes at once to all the product's writers, each
consuming its stream in a thread: its cells (``tx.append``), its reports (``tx.replace_files``)
and its wide rows (``wide.rows``, the product's pivot, written by ``tx.write_partitions``). So
no table is ever held whole in memory, and the wide files are those ``wide.rebuild`` writes:
each partition's rows sorted and cut into files of ``FILE_ROWS`` in the same places.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from extract.schema import APPEAL_COLUMNS, OUTCOME_ROWS, SCHEMA, TEMPLATES, all_keys
from warehouse import wide
from warehouse.agencies import AgencyResolver, Registry, load_registry
from warehouse.agencies_load import agency_rows, identify, identity_metadata
from warehouse.schema import CELLS, REPORTS, WIDE
from warehouse.store import Warehouse

YEARS, SEED, NIGHTLY = tuple(range(2019, 2025)), 20240601, 20
# Provinces and their county-level divisions; an agency is a department of a numbered county.
PROVINCES = {"北京市": 16, "天津市": 16, "河北省": 167, "山西省": 117, "内蒙古自治区": 103,
             "辽宁省": 100, "吉林省": 60, "黑龙江省": 121, "上海市": 16, "江苏省": 95,
             "浙江省": 90, "安徽省": 104, "福建省": 84, "江西省": 100, "山东省": 136,
             "河南省": 157, "湖北省": 103, "湖南省": 122, "广东省": 122, "广西壮族自治区": 111,
             "海南省": 25, "重庆市": 38, "四川省": 183, "贵州省": 88, "云南省": 129,
             "西藏自治区": 74, "陕西省": 107, "甘肃省": 86, "青海省": 44, "宁夏回族自治区": 22,
             "新疆维吾尔自治区": 107}
DEPARTMENTS = ("人民政府", "人民政府办公室", "发展和改革局", "教育局", "公安局", "民政局",
               "司法局", "财政局", "人力资源和社会保障局", "自然资源局", "生态环境局",
               "住房和城乡建设局", "交通运输局", "水利局", "农业农村局", "商务局", "文化和旅游局",
               "卫生健康委员会", "应急管理局", "审计局", "市场监督管理局", "统计局", "医疗保障局",
               "城市管理局", "税务局")
FORMATS = {"html": 0.35, "pdf": 0.45, "docx": 0.10, "doc": 0.05, "wps": 0.02, "text": 0.03}
# Expected requests of a cell: outcome row weight (others 0.01) x applicant column weight x size.
ROW_WEIGHT = {"granted": 0.45, "partial": 0.08, "unable_no_info": 0.2, "rejected_complaint": 0.05,
              "other": 0.05, "other_misc": 0.03, "denied_internal": 0.03, "denied_process": 0.03}
COL_WEIGHT = np.array([0.86, 0.07, 0.005, 0.01, 0.03, 0.025])
REQ_ROWS = [r.key for r in SCHEMA["requests"].rows]
REQ_COLS = [c.key for c in SCHEMA["requests"].columns]  # 6 applicants, org_subtotal, total
TABLE_NO = {"disclosure": 1, "requests": 2, "appeals": 3}
IDENTIFY_STEP = 100_000  # agencies identified at a time (one resolver cache each)


def strings(values) -> pa.Array:
    return pa.array(list(values), pa.string())


REGIONS, DEPTS, FORMAT_NAMES = strings(PROVINCES), strings(DEPARTMENTS), strings(FORMATS)


class GeneratorError(RuntimeError):
    """The synthetic warehouse cannot be built in partition order as asked."""

    kind = "generator_error"


# -- synthetic data -------------------------------------------------------------------------------

def hex_strings(rng: np.random.Generator, count: int, width: int) -> pa.StringArray:
    """``count`` random lowercase hex strings of ``width`` characters, without a Python loop."""
    text = np.frombuffer(b"0123456789abcdef", np.uint8)[rng.integers(0, 16, (count, width))]
    offsets = pa.py_buffer(np.arange(count + 1, dtype=np.int32) * width)
    return pa.StringArray.from_buffers(count, offsets, pa.py_buffer(text.tobytes()))


def agency_names(agency: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Name (`<province>第<county>县<department>`) and province index of each agency number."""
    county = agency // len(DEPARTMENTS)
    weights = np.cumsum(list(PROVINCES.values())) / sum(PROVINCES.values())
    uniform = ((county.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(11)) / 2**53
    province = np.minimum(np.searchsorted(weights, uniform, side="right"), len(PROVINCES) - 1)
    return pc.binary_join_element_wise(
        REGIONS.take(province), "第", pc.cast(pa.array(county + 1), pa.string()), "县",
        DEPTS.take(pa.array(agency % len(DEPARTMENTS))), ""), province


def key_columns(keys: list[str]) -> tuple:
    """Positions of ``keys`` in POS; their cells' (table, row, col), locations, page offsets."""
    parts = [k.split("/") for k in keys]
    return (np.array([POS[k] for k in keys]), [strings(p[i] for p in parts) for i in range(3)],
            strings(f"table {TABLE_NO[p[0]]}: {LABELS[p[0], p[1]]}" for p in parts),
            np.array([TABLE_NO[p[0]] for p in parts]))


# The cell keys of each template, as columns of one value matrix over both templates (POS).
KEYS = {t: all_keys({"disclosure": t, "requests": t}, {"requests": ("org_subtotal",)})
        for t in TEMPLATES}
POS = {k: n for n, k in enumerate(dict.fromkeys(KEYS["2019"] + KEYS["2021"]))}
LABELS = {(name, r.key): r.label for name, table in SCHEMA.items() for r in table.rows}
TEMPLATE_COLUMNS = {t: key_columns(keys) for t, keys in KEYS.items()}
GRID_FLAT, GRID_POS = np.array([  # cells of the requests (row, col) grid -> their POS
    (r * len(REQ_COLS) + c, POS[k]) for r, row in enumerate(REQ_ROWS)
    for c, col in enumerate(REQ_COLS) if (k := f"requests/{row}/{col}") in POS]).T


def cell_values(rng, scale: np.ndarray, year: np.ndarray) -> np.ndarray:
    """(report, key) values over both templates' keys: Poisson counts scaled by agency size that
    add up by request row and column, carried_over = the previous report's carried_forward
    (chunks hold whole agencies), decimal amounts (万元), a signed 本年增/减."""
    at, cols, count = {r: n for n, r in enumerate(REQ_ROWS)}, slice(0, 6), len(year)
    grid, out = np.zeros((count, len(REQ_ROWS), len(REQ_COLS))), [at[r] for r in OUTCOME_ROWS]
    weight = np.array([ROW_WEIGHT.get(r, 0.01) for r in OUTCOME_ROWS])
    grid[:, out, cols] = rng.poisson(scale[:, None, None] * weight[None, :, None] * COL_WEIGHT)
    for row in SCHEMA["requests"].rows:  # rows of one template only are 0 in the other's reports
        if row.templates != TEMPLATES:
            grid[(year <= 2020) != ("2019" in row.templates), at[row.key], cols] = 0
    grid[:, at["total"], cols] = grid[:, out, cols].sum(axis=1)
    forward = grid[:, at["carried_forward"], cols] = rng.poisson(0.06 * scale[:, None] * COL_WEIGHT)
    over, first = np.roll(forward, 1, axis=0), year == YEARS[0]
    over[first] = rng.poisson(0.06 * scale[first, None] * COL_WEIGHT)
    grid[:, at["carried_over"], cols] = over
    grid[:, at["new"], cols] = np.maximum(grid[:, at["total"], cols] + forward - over, 0)
    grid[:, :, 6] = grid[:, :, 1:6].sum(axis=2)
    grid[:, :, 7] = grid[:, :, 0] + grid[:, :, 6]
    values = np.zeros((count, len(POS)))
    values[:, GRID_POS] = grid.reshape(count, -1)[:, GRID_FLAT]
    for row in SCHEMA["appeals"].rows:
        parts = rng.poisson(0.02 * scale[:, None] * np.array([0.6, 0.1, 0.1, 0.2]))
        for c, col in enumerate(APPEAL_COLUMNS):
            values[:, POS[f"appeals/{row.key}/{col}"]] = parts[:, c] if c < 4 else parts.sum(1)
    for key in (k for k in POS if k.startswith("disclosure/")):
        col = key.rsplit("/", 1)[1]
        values[:, POS[key]] = (
            np.round(rng.lognormal(np.log(30.0), 1.5, count), 2) * (rng.random(count) > 0.3)
            if col == "amount" else rng.integers(-3, 4, count) if col == "change" else rng.poisson(
                scale * (12 if col in ("decisions", "prev_count", "total_public", "in_force")
                         else 0.8)))
    return values


def make_chunk(agencies: np.ndarray, agency_ids: pa.Array, seed: int, loaded_at: datetime):
    """The six reports (2019-2024, in that order) of each agency numbered ``agencies``, whose
    ``agency_id`` (from ``identities``) is ``agency_ids``: their cell batches, their reports
    batch and the (year, province) sums of requests/new/total. ``seed``: the chunk's own."""
    rng, count = np.random.default_rng([SEED, seed]), len(agencies) * len(YEARS)
    own = np.repeat(np.arange(len(agencies)), len(YEARS))  # report -> its agency in the chunk
    agency, year = agencies[own], np.tile(np.array(YEARS), len(agencies))
    names, province = agency_names(agency)
    size = np.exp(rng.normal(np.log(4.0), 1.3, len(agencies)))[own]
    values = cell_values(rng, size * (1 + 0.08 * (year - YEARS[0])), year)
    blank = rng.random(values.shape) < rng.beta(0.6, 5.4, count)[:, None]  # ~10%, by report
    fmt = rng.choice(len(FORMATS), count, p=list(FORMATS.values()))
    first_page, ids = rng.integers(1, 4, count), hex_strings(rng, count, 24)
    batches, found = [], np.zeros(count, dtype=np.int64)
    for t, (pos, (table, row, col), location, offset) in TEMPLATE_COLUMNS.items():
        if not (which := np.flatnonzero((year <= 2020) == (t == "2019"))).size:
            continue
        b = blank[which][:, pos]
        found[which] = len(pos) - b.sum(axis=1)
        rep, key = np.repeat(which, len(pos)), np.tile(np.arange(len(pos)), which.size)
        value, k = pa.array(values[which][:, pos].ravel(), mask=b.ravel()), pa.array(key)
        batches.append(pa.RecordBatch.from_arrays([
            ids.take(pa.array(rep)), pa.array(year[rep]), table.take(k), row.take(k), col.take(k),
            value, pc.fill_null(pc.cast(value, pa.string()), ""),
            pa.array(first_page[rep] + offset[key], mask=fmt[rep] != 1), location.take(k),
            pa.array(np.zeros(rep.size, bool)), pa.nulls(rep.size, pa.float64()),
            pa.nulls(rep.size, pa.float64())],  # original_value, ocr_confidence
            schema=CELLS.schema))
    expected, target = np.zeros((len(YEARS), len(PROVINCES))), POS["requests/new/total"]
    np.add.at(expected, (year - YEARS[0], province), values[:, target] * ~blank[:, target])
    sha, formats = hex_strings(rng, count, 64), FORMAT_NAMES.take(pa.array(fmt))
    template = np.where(year <= 2020, "2019", "2021")
    failed = np.where(rng.random(count) < 0.15, rng.integers(1, 4, count), 0)
    columns = {  # published in the 110 days from 5 January: most before the deadline
        "report_id": ids, "document_sha256": sha, "agency": names, "agency_key": names,
        "agency_id": agency_ids.take(pa.array(own)),
        "agency_of": pc.coalesce(agency_ids.take(pa.array(own)), names),
        "region": REGIONS.take(province), "year": year, "template_disclosure": template,
        "template_requests": template, "format": formats, "portal_id": province.astype(str),
        "publish_date": np.array([f"{y + 1}-01-05" for y in YEARS], "datetime64[D]")[
            year - YEARS[0]] + rng.integers(0, 110, count), "extractor": ["nianbao"] * count,
        "extractor_version": ["0.1"] * count, "cells_found": found,
        "status": np.where(failed > 0, "quality_failures", "ok"),
        "checks_failed": failed, "canonical": [True] * count, "loaded_at": [loaded_at] * count,
        "run_id": ["bench"] * count}
    return batches, pa.RecordBatch.from_arrays(
        [pa.array(columns[f.name], f.type) if f.name in columns else pa.nulls(count, f.type)
         for f in REPORTS.schema], schema=REPORTS.schema), expected


def nightly_numbers(agencies: int) -> np.ndarray:
    """The agencies of the nightly load: half new, half existing (spread over the warehouse)."""
    half = NIGHTLY // 2
    return np.concatenate([agencies + 10 + np.arange(half),
                           np.linspace(0, agencies - 1, NIGHTLY - half).astype(np.int64)])


def nightly_agencies(agencies: int) -> pa.Array:
    return agency_names(nightly_numbers(agencies))[0]


def nightly_reports(agencies: int) -> list:
    """``NIGHTLY`` extracted 2024 reports: half for new agencies, half other documents for
    existing agencies' 2024 reports (reposts: canonical chosen again, W4 compares them)."""
    from extract.model import Cell, CheckResult, Report, Status
    rng, numbers = np.random.default_rng([SEED, 99]), nightly_numbers(agencies)
    values = [{k: None if rng.random() < 0.1 else float(rng.poisson(2)) for k in KEYS["2021"]}
              for _ in range(NIGHTLY)]
    return [Report(file=f"nightly_{n}.pdf", sha256=f"{n + 1:064x}", format="pdf", agency=name,
                   year=2024, templates={"disclosure": "2021", "requests": "2021"},
                   cells={k: Cell(k, v, "" if v is None else f"{v:g}", page=3, table_index=2,
                                  row_label=k.split("/")[1]) for k, v in values[n].items()},
                   extractor="nianbao-pdf", extractor_version="0.1.0",
                   checks=[CheckResult("R1", Status.PASS, "requests", "ok")])
            for n, name in enumerate(agency_names(numbers)[0].to_pylist())]




# -- identities and the partition order ----------------------------------------------------------

def identities(agencies: int, registry: Registry) -> tuple[pa.Array, pa.Table]:
    """Each agency's ``agency_id`` (null where its name is not recognised), from ``identify``
    over its six reports' names, regions and years, as a load computes it; and the first-year
    report of each agency it resolved (what ``agency_rows`` reads to write the ``agencies``
    table). The partition order needs one identity per agency: an agency whose years resolve
    apart is refused."""
    ids, resolved = [], []
    for first in range(0, agencies, IDENTIFY_STEP):
        number = np.arange(first, min(first + IDENTIFY_STEP, agencies))
        own = np.repeat(np.arange(len(number)), len(YEARS))
        names, province = agency_names(number)
        table = pa.table({
            "agency": names.take(own), "region": REGIONS.take(province[own]),
            "year": np.tile(np.array(YEARS), len(number)),
            "agency_id": pa.nulls(len(own), pa.string()), "agency_key": names.take(own)})
        table, _ = identify(table, AgencyResolver(registry))
        per_report = table["agency_id"].combine_chunks()
        per_agency = per_report.take(pa.array(np.arange(0, len(own), len(YEARS))))
        if not per_agency.take(pa.array(own)).equals(per_report):
            raise GeneratorError("a synthetic agency's years resolve to different agency_ids "
                                 "(a year-bound alias in the registry): its wide rows would "
                                 "fall in different partitions")
        ids.append(per_agency)
        # (one year each: the years name the same body, so agency_rows finds the same bodies
        # under the same names, without holding every report)
        first_year = table.take(pa.array(np.arange(0, len(own), len(YEARS))))
        resolved.append(first_year.filter(pc.is_valid(first_year["agency_id"])).select(
            ["agency", "region", "year"]))
    return pa.concat_arrays(ids) if ids else pa.array([], pa.string()), pa.concat_tables(resolved)


def partition_chunks(agency_ids: pa.Array, per_chunk: int) -> Iterator[np.ndarray]:
    """The agency numbers in the wide tables' order (``wide._sorted``: partition, then
    ``agency_of``, then year within an agency), cut into chunks of at most ``per_chunk``
    agencies that never span two partitions."""
    count = len(agency_ids)
    keys = pa.table({"agency_id": agency_ids, "agency_key": agency_names(np.arange(count))[0]})
    agency = wide.agency_of(keys)
    bucket = wide.buckets(agency).to_numpy()
    order = pc.sort_indices(pa.table({"agency_bucket": bucket, "agency_of": agency}),
                            sort_keys=[("agency_bucket", "ascending"),
                                       ("agency_of", "ascending")]).to_numpy()
    edges = np.flatnonzero(np.diff(bucket[order])) + 1
    for start, end in zip([0, *edges], [*edges, count], strict=True):
        for at in range(start, end, per_chunk):
            yield order[at:min(at + per_chunk, end)]


# -- the writers ---------------------------------------------------------------------------------

_END = object()


class Fanout:
    """One stream per writer, each consumed in its own thread by a product writer (which pulls
    its rows, so they cannot all run in one loop); bounded, so at most ``depth`` chunks wait
    for each. A writer that fails stops the producer (``put`` raises) and the others."""

    def __init__(self, writers: dict[str, Callable[[Iterator], None]], depth: int = 2) -> None:
        self.queues = {name: queue.Queue(depth) for name in writers}
        self.failed: list[BaseException] = []
        self.threads = [threading.Thread(target=self._run, args=(name, write), daemon=True,
                                         name=f"write-{name}") for name, write in writers.items()]
        for thread in self.threads:
            thread.start()

    def _stream(self, name: str) -> Iterator:
        while (item := self.queues[name].get()) is not _END:
            if self.failed:
                raise GeneratorError(f"{name}: stopped, another writer failed")
            yield item

    def _run(self, name: str, write: Callable[[Iterator], None]) -> None:
        try:
            write(self._stream(name))
        except BaseException as exc:  # (re-raised by the producer, in its thread)
            self.failed.append(exc)

    def put(self, name: str, item) -> None:
        while True:
            if self.failed:
                self.close()
            try:
                self.queues[name].put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Ends every stream, waits for the writers; raises the first failure."""
        for thread, q in zip(self.threads, self.queues.values(), strict=True):
            while thread.is_alive():
                try:
                    q.put(_END, timeout=0.5)
                    break
                except queue.Full:
                    if self.failed:  # a writer that stopped takes nothing more: make room
                        _drop(q)
        for thread in self.threads:
            thread.join()
        if self.failed:
            raise self.failed[0]


def _drop(q: queue.Queue) -> None:
    try:
        while True:
            q.get_nowait()
    except queue.Empty:
        pass


def build(workdir: Path, n: int, chunk: int = 20_004, *, progress: bool = True) -> dict:
    """A warehouse of ``n`` synthetic reports (rounded down to whole agencies) under
    ``workdir``, written as one load by the product's writers, chunks of about ``chunk``
    reports. Returns its measures: cells, seconds (build, of which identifying, generating and
    pivoting wide rows; the writers run beside them), the generator's sums of requests/new/total
    by (year, province)."""
    agencies_n, per_chunk = n // len(YEARS), max(1, chunk // len(YEARS))
    expected, stats = np.zeros((len(YEARS), len(PROVINCES))), Counter()
    loaded_at, started = datetime.now(UTC), time.perf_counter()
    registry = load_registry()
    agency_ids, resolved = identities(agencies_n, registry)
    agencies = agency_rows(resolved, AgencyResolver(registry))
    stats["identify_s"] = time.perf_counter() - started
    warehouse = Warehouse(workdir)
    with warehouse.transaction("bench") as tx:
        fanout = Fanout({
            "cells": lambda s: tx.append("cells", pa.RecordBatchReader.from_batches(
                CELLS.schema, s)),
            # (reports whole at the end: one load writes them sorted by agency_of)
            "reports": lambda s: tx.replace_files("reports", [], [pa.concat_tables(list(s))]),
            **{t.name: (lambda s, name=t.name: tx.write_partitions(name, s, "agency_bucket"))
               for t in WIDE}})
        try:
            for seed, numbers in enumerate(partition_chunks(agency_ids, per_chunk)):
                t0 = time.perf_counter()
                ids = agency_ids.take(pa.array(numbers))
                batches, report, sums = make_chunk(numbers, ids, seed, loaded_at)
                stats["generate_s"] += (t1 := time.perf_counter()) - t0
                reports = pa.Table.from_batches([report])
                rows = wide.rows(reports, agencies.filter(pc.fill_null(pc.is_in(
                    agencies["agency_id"], value_set=ids), False)), iter(batches))
                stats["wide_s"] += time.perf_counter() - t1
                for batch in batches:
                    fanout.put("cells", batch)
                fanout.put("reports", reports)
                for name, table in rows.items():
                    fanout.put(name, table)
                stats["cells"] += sum(b.num_rows for b in batches)
                stats["reports"] += report.num_rows
                np.add(expected, sums, out=expected)
                if progress:
                    print(f"    {stats['reports']:>11,} reports {stats['cells']:>14,} cells "
                          f"{time.perf_counter() - started:8.1f} s", file=sys.stderr, flush=True)
        finally:
            fanout.close()
        tx.rewrite("agencies", agencies,  # (as a load writes it: small files, their ranges)
                   metadata=identity_metadata(registry, tx.versions["reports"]))
    return {**stats, "load_s": time.perf_counter() - started, "agencies": agencies_n,
            "expected": expected.tolist()}
