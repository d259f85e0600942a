"""Extraction speed, always next to accuracy. Run on demand; not part of the test suite.

    .venv/bin/python benchmarks/extract.py [--data tests/data] [--repeat 3] [--no-variants]
                                           [--camelot-every 5] [--json out.json]
                                           [--copies 15] [--command-only]

What it measures (wall-clock seconds: one warm-up call, then the best of ``--repeat`` calls;
the minimum is the least noisy estimate of a deterministic job's cost):

1. ``extract_document`` on every document in the data folder (README.md and keys/ skipped),
   giving documents/s per format. DOC is converted by LibreOffice (a soffice process) on every
   call, so it is far slower than DOCX; that time is the converter's, not the reader's.
2. PDF methods, on every PDF of the data folder and on the generated variants (tests/variants.py:
   LibreOffice renderings of two corpus documents with other fonts, sizes, pages, margins,
   widths and page breaks inside the tables, built in a temporary directory): the fast path
   (PDFium grid, ``read_pdf_fast``) alone and with the interpreter, pdfplumber alone (open, then
   per page ``dedupe_chars().extract_tables()``), camelot lattice alone (every corpus PDF and every
   ``--camelot-every``-th variant: it is slow), pypdfium2 plain text of all pages (the floor any
   PDF reading pays) and the cascade (``extract_document``). Per method: documents/s, median
   time and cells read correctly; the medians of the per-file ratios pdfplumber/fast,
   camelot/fast and fast/floor against the goals (>= 10x, >= 40x, <= 5x).

3. The command users run, end to end: ``nianbao extract --json`` as a subprocess on every
   corpus PDF copied ``--copies`` times (one command), against pdfplumber ``extract_tables`` on
   the same files in this process; the ratio pdfplumber/command against the goal (>= 10x), and
   every file's cells against its key (it must be every cell, exactly). One warm-up and
   ``--repeat`` timed runs of each, as above.

Every result with known values (keys/<stem>.json, or a variant's source key) is scored: a cell
matches when the report has it with an equal value of the same type (null included). Each
reader's accuracy is that of its own report alone (``build_report`` on its content, no cascade).
Speed is never printed without it.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
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

sys.path.insert(0, str(_HERE.parent))  # the repository root: tests.variants

from extract import Report, extract_document  # noqa: E402
from extract.document import build_report  # noqa: E402
from extract.errors import ExtractionError  # noqa: E402
from extract.formats.lattice import read_pdf_lattice  # noqa: E402
from extract.formats.pdf import read_pdf  # noqa: E402
from extract.formats.pdfium_grid import read_pdf_fast  # noqa: E402
from extract.model import Content  # noqa: E402
from tests.variants import build_variants, known_cells  # noqa: E402

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


def build(content_of: Callable[[], Content]) -> Report | None:
    """The report of one reader's content alone (no cascade), or None if it reads no report."""
    try:
        return build_report(Report(file="", sha256="", format="pdf"), content_of())
    except ExtractionError:
        return None


def correct(report: Report | None, expected: dict[str, Any] | None) -> dict[str, int] | None:
    """Cells of ``expected`` read with the same value and type, or None without a key."""
    if expected is None:
        return None
    got = report.values() if report is not None else {}
    matched = sum(1 for k, v in expected.items()
                  if k in got and got[k] == v and (v is None or type(got[k]) is type(v)))
    return {"matched": matched, "total": len(expected), "extra": len(got.keys() - expected)}


VARIANT = "~"  # marks a generated variant's name in the PDF tables


def pdf_cases(data: Path, variants_dir: Path | None) -> list[tuple[Path, str, dict | None]]:
    """(pdf, label, known cells): the corpus PDFs (their keys), then the generated variants."""
    cases = []
    for path in sorted(data.glob("*.pdf")):
        key = data / "keys" / f"{path.stem}.json"
        cells = json.loads(key.read_text(encoding="utf-8"))["cells"] if key.exists() else None
        cases.append((path, path.name, cells))
    if variants_dir is not None:
        cases += [(pdf, f"{VARIANT}{v.name}", known_cells(v))
                  for pdf, v in build_variants(variants_dir)]
    return cases


def bench_pdf_methods(cases: list[tuple[Path, str, dict | None]], repeat: int,
                      camelot_every: int) -> list[dict[str, Any]]:
    """Every method on every PDF: seconds (best of ``repeat``) and cells read correctly.
    camelot runs on the corpus PDFs and every ``camelot_every``-th variant only (it is slow)."""
    rows = []
    for n, (path, label, cells) in enumerate(cases):
        row: dict[str, Any] = {"file": label}
        row["floor"], pages = best_time(partial(pdfium_text, path), repeat)
        row["pages"] = pages
        row["fast"], content = best_time(partial(read_pdf_fast, path), repeat)
        row["fast+interpret"], fast = best_time(partial(build, partial(read_pdf_fast, path)),
                                                repeat)
        row["pdfplumber"], _ = best_time(partial(pdfplumber_tables, path), repeat)
        row["cascade"], cascade = best_time(partial(extract_document, path), repeat)
        row["accuracy"] = {"fast": correct(fast, cells), "fast+interpret": correct(fast, cells),
                           "pdfplumber": correct(build(partial(read_pdf, path)), cells),
                           "cascade": correct(cascade, cells), "floor": None}
        row["cascade extractor"] = cascade.extractor
        if not label.startswith(VARIANT) or n % camelot_every == 0:
            text = content.text
            row["camelot"], lattice = best_time(partial(read_pdf_lattice, path, text), repeat)
            row["accuracy"]["camelot"] = correct(build(lambda c=lattice: c), cells)
        rows.append(row)
    return rows


PDF_METHODS = ("fast", "fast+interpret", "pdfplumber", "camelot", "floor", "cascade")
METHOD_NOTES = {
    "fast": "PDFium grid: characters, ruling lines, RawTable grids (read_pdf_fast)",
    "fast+interpret": "the fast path and the template interpreter and checks (build_report)",
    "pdfplumber": "pdfplumber open + dedupe_chars().extract_tables() per page",
    "camelot": "camelot lattice, all pages (subset of files: see 'files')",
    "floor": "pypdfium2 plain text of every page: no cells",
    "cascade": "extract_document: fast path, pdfplumber and camelot when needed",
}
RATIOS = {"pdfplumber/fast": ("pdfplumber", "fast"), "camelot/fast": ("camelot", "fast"),
          "fast/floor": ("fast", "floor"), "fast+interpret/floor": ("fast+interpret", "floor")}
GOALS = {"pdfplumber/fast": (">=", 10.0), "camelot/fast": (">=", 40.0), "fast/floor": ("<=", 5.0)}


def pdf_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per method: files, documents/s, median seconds, cells correct; medians of the ratios."""
    methods = {}
    for method in PDF_METHODS:
        timed = [r for r in rows if method in r]
        scored = [r["accuracy"].get(method) for r in timed if r["accuracy"].get(method)]
        total = sum(t[method] for t in timed)
        methods[method] = {
            "files": len(timed), "docs_per_s": len(timed) / total if total else 0.0,
            "median_s": statistics.median(t[method] for t in timed) if timed else 0.0,
            "matched": sum(a["matched"] for a in scored), "cells": sum(a["total"] for a in scored),
            "exact": sum(a["matched"] == a["total"] for a in scored), "scored": len(scored)}
    ratios = {}
    for name, (num, den) in RATIOS.items():
        values = [r[num] / r[den] for r in rows if num in r and den in r]
        ratios[name] = {"median": statistics.median(values), "min": min(values),
                        "max": max(values), "files": len(values)}
    return {"methods": methods, "ratios": ratios}


def print_pdf_methods(console: Console, rows: list[dict[str, Any]], summary: dict[str, Any],
                      repeat: int) -> None:
    table = Table(title=f"PDF methods per file (ms, best of {repeat}; cells read correctly)",
                  caption=f"{VARIANT}name: a generated variant (tests/variants.py)")
    for name in ("file", "pages", *PDF_METHODS, "pl/fast", "cam/fast", "fast/floor",
                 "fast cells", "pdfplumber", "camelot", "cascade cells"):
        table.add_column(name, justify="left" if name == "file" else "right", no_wrap=True)
    for r in rows:
        acc = r["accuracy"]
        table.add_row(r["file"], str(r["pages"]),
                      *(f"{r[m] * 1000:.1f}" if m in r else "-" for m in PDF_METHODS),
                      f"{r['pdfplumber'] / r['fast']:.0f}x",
                      f"{r['camelot'] / r['fast']:.0f}x" if "camelot" in r else "-",
                      f"{r['fast'] / r['floor']:.1f}x",
                      *(score(acc[m]) if m in acc else "-"
                        for m in ("fast", "pdfplumber", "camelot")),
                      f"{score(acc['cascade'])} {r['cascade extractor']}")
    console.print(table)
    methods = Table(title="PDF methods: throughput and accuracy (cells of each reader alone)",
                    caption="\n".join(f"{k}: {v}" for k, v in METHOD_NOTES.items()))
    for name in ("method", "files", "documents/s", "median ms", "cells correct", "exact files"):
        methods.add_column(name, justify="left" if name == "method" else "right")
    for name, m in summary["methods"].items():
        cells = f"{m['matched']}/{m['cells']}" if m["cells"] else "n/a (no cells)"
        methods.add_row(name, str(m["files"]), f"{m['docs_per_s']:.1f}",
                        f"{m['median_s'] * 1000:.1f}", cells,
                        f"{m['exact']}/{m['scored']}" if m["scored"] else "-")
    console.print(methods)
    ratios = Table(title="Speed ratios (median of per-file ratios) and the goals")
    for name in ("ratio", "median", "min", "max", "files", "goal", "met"):
        ratios.add_column(name, justify="left" if name == "ratio" else "right")
    for name, r in summary["ratios"].items():
        goal = GOALS.get(name)
        met = "" if goal is None else (
            "yes" if (r["median"] >= goal[1] if goal[0] == ">=" else r["median"] <= goal[1])
            else "[red]no[/red]")
        ratios.add_row(name, f"{r['median']:.1f}x", f"{r['min']:.1f}x", f"{r['max']:.1f}x",
                       str(r["files"]), f"{goal[0]} {goal[1]:g}x" if goal else "", met)
    console.print(ratios)


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


COMMAND_GOAL = 10.0  # pdfplumber seconds / `nianbao extract` seconds, same files, same run


def bench_command(data: Path, copies: int, repeat: int) -> dict[str, Any]:
    """``nianbao extract --json`` on the corpus PDFs x ``copies`` (one subprocess, end to end)
    and pdfplumber ``extract_tables`` on the same files; seconds, the ratio, exact files."""
    script = Path(sys.executable).with_name("nianbao")
    with tempfile.TemporaryDirectory(prefix="nianbao-command-") as scratch:
        sources = {}
        for n in range(copies):
            for pdf in sorted(data.glob("*.pdf")):
                target = Path(scratch) / f"{n:02d}-{pdf.name}"
                shutil.copyfile(pdf, target)
                sources[str(target)] = pdf
        command = [str(script), "extract", "--json", *sources]
        run = partial(subprocess.run, command, capture_output=True, text=True, check=False)
        command_s, done = best_time(run, repeat)
        plumber_s, _ = best_time(lambda: [pdfplumber_tables(Path(f)) for f in sources], repeat)
    exact, readers = 0, {}
    for line in done.stdout.splitlines():
        obj = json.loads(line)
        key_file = data / "keys" / f"{sources[obj['file']].stem}.json"
        expected = json.loads(key_file.read_text(encoding="utf-8"))["cells"] if (
            key_file.exists()) else None
        exact += expected is not None and obj["cells"] == expected
        path = "+".join(obj.get("readers") or [obj["extractor"]])
        readers[path] = readers.get(path, 0) + 1
    return {"files": len(sources), "command_s": command_s, "pdfplumber_s": plumber_s,
            "ratio": plumber_s / command_s, "exact": exact, "readers": readers,
            "goal": COMMAND_GOAL, "stderr_lines": len(done.stderr.splitlines())}


def print_command(console: Console, result: dict[str, Any], repeat: int) -> None:
    table = Table(title=f"`nianbao extract` end to end vs pdfplumber extract_tables (best of "
                        f"{repeat}; {result['files']} PDFs in one command)")
    for name in ("nianbao extract s", "pdfplumber s", "ratio", "goal", "met", "exact files",
                 "readers", "stderr lines"):
        table.add_column(name, justify="right")
    met = "yes" if result["ratio"] >= result["goal"] else "[red]no[/red]"
    table.add_row(f"{result['command_s']:.2f}", f"{result['pdfplumber_s']:.2f}",
                  f"{result['ratio']:.1f}x", f">= {result['goal']:g}x", met,
                  f"{result['exact']}/{result['files']}",
                  ", ".join(f"{k} {v}" for k, v in result["readers"].items()),
                  str(result["stderr_lines"]))
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("tests/data"))
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per measurement")
    parser.add_argument("--no-variants", action="store_true",
                        help="PDF methods on the corpus PDFs only (no LibreOffice variants)")
    parser.add_argument("--camelot-every", type=int, default=5,
                        help="time camelot on every n-th variant (all corpus PDFs)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    parser.add_argument("--copies", type=int, default=15,
                        help="copies of each corpus PDF given to `nianbao extract` at once")
    parser.add_argument("--command-only", action="store_true",
                        help="only the end-to-end `nianbao extract` measurement (3.)")
    args = parser.parse_args()
    quiet()
    console = Console()
    if not console.is_terminal:  # a log file: wide enough for the per-file PDF table
        console.width = 250
    command = bench_command(args.data, args.copies, args.repeat)
    print_command(console, command, args.repeat)
    if args.command_only:
        if args.json:
            args.json.write_text(json.dumps({"repeat": args.repeat, "command": command}, indent=1))
        return
    rows = bench_documents(args.data, args.repeat)
    summary = per_format(rows)
    print_documents(console, rows, args.repeat)
    print_formats(console, summary)
    with tempfile.TemporaryDirectory(prefix="nianbao-variants-") as scratch:
        cases = pdf_cases(args.data, None if args.no_variants else Path(scratch))
        console.print(f"PDF methods on {len(cases)} PDFs ...")
        pdfs = bench_pdf_methods(cases, args.repeat, args.camelot_every)
    pdf_totals = pdf_summary(pdfs)
    print_pdf_methods(console, pdfs, pdf_totals, args.repeat)
    if args.json:
        versions = {"camelot": camelot.__version__, "pdfplumber": pdfplumber.__version__,
                    "pdfium": pypdfium2.version.PDFIUM_INFO.version}
        args.json.write_text(json.dumps({"repeat": args.repeat, "versions": versions,
                                         "documents": rows, "formats": summary, "pdfs": pdfs,
                                         "pdf_summary": pdf_totals, "command": command},
                                        indent=1,
                                        ensure_ascii=False))


if __name__ == "__main__":
    main()
