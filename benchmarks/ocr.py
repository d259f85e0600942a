"""OCR speed and accuracy on scanned renderings of the corpus PDFs. Run on demand, not in tests.

    .venv/bin/python benchmarks/ocr.py [--reports huaian_city_2024 ...] [--rapidocr]

Each corpus PDF is made into an image-only scan (200 dpi, turned 0.6 degrees, blurred, JPEG 70:
``tests/scans.py``) and extracted in this process, on one core (OMP_THREAD_LIMIT=1). Reports
seconds per page (wall and this process's CPU: on a shared machine the CPU time is what one
free core would take), the cells exact against the answer key, and the time as a ratio to
reading the original PDF's text layer in the same run (the baseline). ``--rapidocr`` also times
RapidOCR (when installed) reading the same pages whole, the alternative engine that was measured.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pypdfium2  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from extract import extract_document  # noqa: E402
from extract.formats.scan_pdf import render_pages  # noqa: E402
from tests.conftest import DATA, load_key  # noqa: E402
from tests.scans import scanned_pdf  # noqa: E402

REPORTS = ("hongze_district_2023", "hongze_district_2024", "huaian_city_2024", "weihai_2020")


def _timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def _cpu_timed(function, *args, **kwargs):
    """(result, wall s, CPU s of this process): the CPU time is what one core would take,
    whatever else shares the machine."""
    started, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started, time.process_time() - cpu


def _rapidocr_seconds(scan: Path) -> tuple[float, float] | None:
    """(first page s, s per later page) of RapidOCR reading the scan's pages whole (its models
    load on the first call), or None when it is not installed."""
    try:
        from rapidocr import RapidOCR
    except ImportError:
        return None
    engine = RapidOCR()
    pages = render_pages(scan)
    _, first_s = _timed(engine, pages[0])
    _, rest_s = _timed(lambda: [engine(page) for page in pages[1:]])
    return first_s, rest_s / max(1, len(pages) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", nargs="*", default=list(REPORTS))
    parser.add_argument("--rapidocr", action="store_true")
    args = parser.parse_args()
    table = Table(title="OCR of scanned corpus reports (one core)")
    for column in ("report", "pages", "OCR s", "s/page", "CPU s/page", "cells exact",
                   "x text layer", "RapidOCR s/page"):
        table.add_column(column, justify="right")
    total_pages = total_s = total_cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="nianbao-ocr-bench-") as scratch:
        for name in args.reports:
            original = DATA / f"{name}.pdf"
            scan = scanned_pdf(original, Path(scratch) / f"{name}.pdf")
            pages = len(pypdfium2.PdfDocument(str(scan)))
            _, baseline_s = _timed(extract_document, original)
            report, ocr_s, cpu_s = _cpu_timed(extract_document, scan)
            key = load_key(name)["cells"]
            got = report.values()
            exact = sum(1 for k, v in key.items() if k in got and got[k] == v)
            rapid = _rapidocr_seconds(scan) if args.rapidocr else None
            table.add_row(name, str(pages), f"{ocr_s:.1f}", f"{ocr_s / pages:.2f}",
                          f"{cpu_s / pages:.2f}",
                          f"{exact}/{len(key)}", f"{ocr_s / baseline_s:.1f}",
                          f"{rapid[1]:.1f} (first {rapid[0]:.1f})" if rapid else "-")
            total_pages += pages
            total_s += ocr_s
            total_cpu += cpu_s
    Console().print(table)
    print(f"overall: {total_s / total_pages:.2f} s per page ({total_cpu / total_pages:.2f} s of "
          f"CPU); a 6-page scan: {6 * total_s / total_pages:.1f} s "
          f"({6 * total_cpu / total_pages:.1f} s of CPU on one core)")


if __name__ == "__main__":
    main()
