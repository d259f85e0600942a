"""Speed of tables without ruling lines in the fast PDF path, next to the same documents ruled.
Run on demand; not part of the test suite.

    .venv/bin/python benchmarks/borderless.py [--repeat 3] [--sample 12] [--chromium]
                                              [--json out.json]

Pairs of PDFs that print the same tables, once with ruling lines and once without, are built
in a temporary directory by tests/variants.py: a sample of the LibreOffice variants (every
``len/--sample``-th, both sources) with their borderless twins, the real weihai PDF with its
path objects removed (the twin of the corpus file) and, with ``--chromium``, Chromium's prints
of both sources. For each pair ``read_pdf_fast`` (chars with boxes, ruling lines, grids) is
timed on both files in CPU time (one warm-up call, then the best of ``--repeat``: the least
noisy estimate of a deterministic job on a shared machine) and its reading scored against the
source's answer key. The ratio borderless/ruled per pair, and its median, is the number to
watch (goal: <= 2x).

The ruled file of each pair is also timed three ways, to show what looking for tables without
ruling lines costs a ruled report: as read (the probe skipped when the ruled tables give every
template cell), with the probe forced on every page (as before the skip), and with no probe at
all (the pure ruled reading, the baseline of both ratios).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pikepdf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: tests/

from extract.document import build_report
from extract.errors import ExtractionError
from extract.formats import pdfium_grid
from extract.formats.pdfium_grid import read_pdf_fast
from extract.model import Report
from tests.variants import CHROMIUM, DATA, VARIANTS, build_variants, known_cells

GOAL = 2.0
_PATH_OPERATORS = {"m", "l", "c", "v", "y", "h", "re", "S", "s", "f", "F", "f*", "B", "B*", "b",
                   "b*", "n", "W", "W*"}


def _best_time(path: Path, repeat: int) -> float:
    read_pdf_fast(path)
    times = []
    for _ in range(repeat):
        start = time.process_time()
        read_pdf_fast(path)
        times.append(time.process_time() - start)
    return min(times)


@contextlib.contextmanager
def _probe(always: bool):
    """The probe for tables without ruling lines run on every page (True) or never (False)."""
    decide = pdfium_grid._reads_every_cell
    pdfium_grid._reads_every_cell = lambda tables: not always
    try:
        yield
    finally:
        pdfium_grid._reads_every_cell = decide


def _ruled_overhead(path: Path, repeat: int) -> dict:
    """CPU seconds to read a ruled PDF without the probe, as read, and with the probe forced:
    the three taken in turn in each round (contention on a shared machine hits all three
    alike), the best of the rounds each."""
    modes = {"ruled_bare_s": False, "ruled_as_read_s": None, "ruled_forced_probe_s": True}
    read_pdf_fast(path)
    best = {name: float("inf") for name in modes}
    for _ in range(repeat):
        for name, always in modes.items():
            with contextlib.nullcontext() if always is None else _probe(always):
                start = time.process_time()
                read_pdf_fast(path)
                best[name] = min(best[name], time.process_time() - start)
    return best


def _correct(path: Path, expected: dict) -> int:
    try:
        report = build_report(Report(file=str(path), sha256="", format="pdf"), read_pdf_fast(path))
    except ExtractionError:
        return 0
    got = report.values()
    return sum(1 for k, v in expected.items()
               if k in got and got[k] == v and (v is None or type(got[k]) is type(v)))


def _without_paths(source: Path, target: Path) -> Path:
    with pikepdf.open(source) as pdf:
        for page in pdf.pages:
            page.contents_coalesce()
            ops = [(operands, op) for operands, op in pikepdf.parse_content_stream(page)
                   if str(op) not in _PATH_OPERATORS]
            page.Contents.write(pikepdf.unparse_content_stream(ops))
        pdf.save(target)
    return target


def _pairs(directory: Path, sample: int, chromium: bool) -> list[tuple[str, Path, Path, dict]]:
    """(name, ruled pdf, borderless pdf, expected cells)."""
    step = max(1, len(VARIANTS) // sample)
    ruled = VARIANTS[::step]
    variants = ruled + [replace(v, borderless=True) for v in ruled]
    if chromium:
        variants += [v for v in CHROMIUM if v.fonts == (None, None) and v.page == "A4"
                     and not v.landscape and v.split_at is None]
    built = {v.name: pdf for pdf, v in build_variants(directory, variants)}
    pairs = []
    for v in variants:
        if not v.borderless:
            twin = replace(v, borderless=True)
            if twin.name in built:
                pairs.append((v.name, built[v.name], built[twin.name], known_cells(v)))
    corpus = DATA / "weihai_2020.pdf"
    key = json.loads((DATA / "keys" / "weihai_2020.json").read_text(encoding="utf-8"))
    pairs.append(("weihai_2020.pdf (paths removed)", corpus,
                  _without_paths(corpus, directory / "weihai-lineless.pdf"), key["cells"]))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=12, help="LibreOffice variants to pair")
    parser.add_argument("--chromium", action="store_true", help="also Chromium prints")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nianbao-borderless-") as tmp:
        pairs = _pairs(Path(tmp), args.sample, args.chromium)
        rows = []
        for name, ruled, lineless, expected in pairs:
            t_ruled, t_lineless = _best_time(ruled, args.repeat), _best_time(lineless, args.repeat)
            rows.append({"pair": name, "ruled_s": t_ruled, "borderless_s": t_lineless,
                         "ratio": t_lineless / t_ruled, "cells": len(expected),
                         **_ruled_overhead(ruled, args.repeat),
                         "ruled_correct": _correct(ruled, expected),
                         "borderless_correct": _correct(lineless, expected)})
    print(f"{'pair':58} {'ruled ms':>9} {'no-lines ms':>11} {'ratio':>6}  correct (ruled/no-lines)")
    for r in rows:
        print(f"{r['pair']:58} {r['ruled_s'] * 1000:9.1f} {r['borderless_s'] * 1000:11.1f} "
              f"{r['ratio']:6.2f}  {r['ruled_correct']}/{r['borderless_correct']} of {r['cells']}")
    median = statistics.median(r["ratio"] for r in rows)
    exact = sum(r["borderless_correct"] == r["cells"] for r in rows)
    print(f"median borderless/ruled {median:.2f}x (goal <= {GOAL:g}x), max "
          f"{max(r['ratio'] for r in rows):.2f}x; borderless exact on {exact}/{len(rows)}")
    print(f"\n{'ruled file':58} {'bare ms':>8} {'as read':>8} {'forced':>8}  "
          "as read/bare  forced/bare")
    for r in rows:
        bare, as_read, forced = (r["ruled_bare_s"], r["ruled_as_read_s"],
                                 r["ruled_forced_probe_s"])
        print(f"{r['pair']:58} {bare * 1000:8.1f} {as_read * 1000:8.1f} {forced * 1000:8.1f}  "
              f"{as_read / bare:12.2f}  {forced / bare:11.2f}")
    as_read = statistics.median(r["ruled_as_read_s"] / r["ruled_bare_s"] for r in rows)
    forced = statistics.median(r["ruled_forced_probe_s"] / r["ruled_bare_s"] for r in rows)
    print(f"ruled PDFs, median over the bare ruled reading: as read {as_read:.2f}x, probe forced "
          f"{forced:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"pairs": rows, "median_ratio": median,
                                         "ruled_as_read_ratio": as_read,
                                         "ruled_forced_probe_ratio": forced}, indent=2))


if __name__ == "__main__":
    main()
