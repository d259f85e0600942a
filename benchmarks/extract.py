"""Extraction speed, always next to accuracy. Run on demand; not part of the test suite.

    .venv/bin/python benchmarks/extract.py [--data tests/data] [--repeat 3] [--json out.json]

What it measures (wall-clock seconds: one warm-up call, then the best of ``--repeat`` calls;
the minimum is the least noisy estimate of a deterministic job's cost):

1. ``extract_document`` on every document in the data folder (README.md and keys/ skipped),
   giving documents/s per format. DOC is converted by LibreOffice (a soffice process) on every
   call, so it is far slower than DOCX; that time is the converter's, not the reader's.
2. For the PDFs, on the same files: (a) nianbao's PDF path as a whole (the times of step 1:
   pypdfium2 text, pdfplumber tables, camelot lattice as a second opinion when the first
   reading fails a check), (b) pdfplumber alone (open, then per page
   ``dedupe_chars().extract_tables()``), (c) camelot lattice alone
   (``read_pdf(flavor="lattice", pages="all")``) and (d) pypdfium2 plain text of all pages,
   the floor any PDF reading pays.

Every result with an answer key (keys/<stem>.json) is scored: a key cell matches when the
report has that cell with an equal value (null included). Speed is never printed without it.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import camelot
import pdfplumber
import pypdfium2
from rich.console import Console
from rich.table import Table

# This script is itself named extract.py: drop its folder from the import path so that
# `import extract` finds the nianbao package rather than this file.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from extract import Report, extract_document  # noqa: E402

FORMATS = ("html", "pdf", "docx", "doc", "text")
FORMAT_NOTES = {"doc": "slow: a LibreOffice (soffice) conversion to DOCX on every call"}


def quiet() -> None:
    """Silence camelot's and pdfminer's warnings and log chatter."""
    warnings.filterwarnings("ignore")
    for name in ("camelot", "pdfminer", "pypdfium2"):
        logging.getLogger(name).setLevel(logging.ERROR)


def best_time(call: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Fastest wall-clock seconds of ``repeat`` calls after one warm-up, and the last result."""
    result = call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return min(times), result


def documents(data: Path) -> list[Path]:
    return sorted(p for p in data.iterdir() if p.is_file() and p.name != "README.md")


def accuracy(report: Report, data: Path, path: Path) -> dict[str, int] | None:
    """Key cells the report reproduces exactly, or None when the document has no key."""
    key_file = data / "keys" / f"{path.stem}.json"
    if not key_file.exists():
        return None
    expected: dict[str, Any] = json.loads(key_file.read_text(encoding="utf-8"))["cells"]
    got = report.values()
    matched = sum(1 for k, v in expected.items() if k in got and got[k] == v)
    return {"matched": matched, "total": len(expected), "extra": len(got.keys() - expected)}


def second_opinion(report: Report) -> bool:
    """Whether nianbao also ran camelot lattice (its pdfplumber reading failed a check)."""
    return any("camelot lattice" in note for note in report.notes)


def extractor_label(row: dict[str, Any]) -> str:
    return row["extractor"] + (" (+camelot run)" if row["second_opinion"] else "")


def score(acc: dict[str, int] | None) -> str:
    if acc is None:
        return "no key"
    text = f"{acc['matched']}/{acc['total']}"
    text += f" +{acc['extra']} extra" if acc["extra"] else ""
    return text if acc["matched"] == acc["total"] else f"[red]{text}[/red]"


def pdfplumber_tables(path: Path) -> int:
    with pdfplumber.open(path) as pdf:
        return sum(len(page.dedupe_chars().extract_tables()) for page in pdf.pages)


def camelot_lattice(path: Path) -> int:
    return len(camelot.read_pdf(str(path), flavor="lattice", pages="all"))


def pdfium_text(path: Path) -> int:
    """Read the plain text of every page; returns the number of pages."""
    document = pypdfium2.PdfDocument(str(path))
    try:
        return len([page.get_textpage().get_text_range() for page in document])
    finally:
        document.close()


def bench_documents(data: Path, repeat: int) -> list[dict[str, Any]]:
    rows = []
    for path in documents(data):
        seconds, report = best_time(partial(extract_document, path), repeat)
        rows.append({"file": path.name, "format": report.format, "seconds": seconds,
                     "extractor": report.extractor, "second_opinion": second_opinion(report),
                     "error": report.error, "accuracy": accuracy(report, data, path)})
    return rows


def per_format(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    summary = {}
    for fmt in FORMATS:
        times = [r["seconds"] for r in rows if r["format"] == fmt]
        if times:
            summary[fmt] = {"documents": len(times), "seconds": sum(times),
                            "docs_per_s": len(times) / sum(times),
                            "note": FORMAT_NOTES.get(fmt, "")}
    return summary


def bench_pdfs(data: Path, rows: list[dict[str, Any]], repeat: int) -> list[dict[str, Any]]:
    pdfs = []
    for row in (r for r in rows if r["format"] == "pdf"):
        path = data / row["file"]
        plumber, _ = best_time(partial(pdfplumber_tables, path), repeat)
        lattice, _ = best_time(partial(camelot_lattice, path), repeat)
        text, pages = best_time(partial(pdfium_text, path), repeat)
        pdfs.append({**row, "pages": pages,
                     "nianbao": row["seconds"], "pdfplumber": plumber, "camelot": lattice,
                     "pdfium_text": text, "camelot/pdfplumber": lattice / plumber,
                     "pdfplumber/pdfium_text": plumber / text,
                     "nianbao/pdfplumber": row["seconds"] / plumber})
    return pdfs


def print_documents(console: Console, rows: list[dict[str, Any]], repeat: int) -> None:
    table = Table(title=f"extract_document per document (best of {repeat}, after a warm-up)")
    for name in ("file", "format", "extractor", "seconds", "cells vs key", "error"):
        table.add_column(name, justify="right" if name == "seconds" else "left")
    for r in rows:
        table.add_row(r["file"], r["format"], extractor_label(r), f"{r['seconds']:.3f}",
                      score(r["accuracy"]), r["error"] or "")
    console.print(table)


def print_formats(console: Console, summary: dict[str, dict[str, Any]]) -> None:
    table = Table(title="Throughput per format")
    for name in ("format", "documents", "seconds", "documents/s", "note"):
        table.add_column(name, justify="left" if name in ("format", "note") else "right")
    for fmt, s in summary.items():
        table.add_row(fmt, str(s["documents"]), f"{s['seconds']:.3f}", f"{s['docs_per_s']:.2f}",
                      s["note"])
    console.print(table)


PDF_TIMES = ("nianbao", "pdfplumber", "camelot", "pdfium_text")
PDF_RATIOS = ("camelot/pdfplumber", "pdfplumber/pdfium_text", "nianbao/pdfplumber")


def pdf_medians(pdfs: list[dict[str, Any]]) -> dict[str, float]:
    return {k: statistics.median(p[k] for p in pdfs) for k in PDF_TIMES + PDF_RATIOS}


def print_pdfs(console: Console, pdfs: list[dict[str, Any]], medians: dict[str, float]) -> None:
    table = Table(title="PDF: nianbao vs its parts (seconds)",
                  caption="median row: median of the times and median of the per-file ratios")
    table.add_column("file")
    table.add_column("pages", justify="right")
    for name in PDF_TIMES + PDF_RATIOS:
        table.add_column(name, justify="right")
    table.add_column("nianbao extractor")
    table.add_column("cells vs key")
    for p in pdfs:
        table.add_row(p["file"], str(p["pages"]), *(f"{p[k]:.3f}" for k in PDF_TIMES),
                      *(f"{p[k]:.1f}x" for k in PDF_RATIOS), extractor_label(p),
                      score(p["accuracy"]))
    table.add_section()
    table.add_row("median", "", *(f"{medians[k]:.3f}" for k in PDF_TIMES),
                  *(f"{medians[k]:.1f}x" for k in PDF_RATIOS), "", "")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("tests/data"))
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per measurement")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args()
    quiet()
    console = Console()
    rows = bench_documents(args.data, args.repeat)
    summary = per_format(rows)
    pdfs = bench_pdfs(args.data, rows, args.repeat)
    medians = pdf_medians(pdfs) if pdfs else {}
    print_documents(console, rows, args.repeat)
    print_formats(console, summary)
    if pdfs:
        print_pdfs(console, pdfs, medians)
    if args.json:
        versions = {"camelot": camelot.__version__, "pdfplumber": pdfplumber.__version__,
                    "pdfium": pypdfium2.version.PDFIUM_INFO.version}
        args.json.write_text(json.dumps({"repeat": args.repeat, "versions": versions,
                                         "documents": rows, "formats": summary, "pdfs": pdfs,
                                         "pdf_medians": medians}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
