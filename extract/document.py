"""One document -> one Report: sniff the format, read its tables, interpret, check.

Pure apart from reading the file (and LibreOffice's scratch files in ``workdir`` for DOC/WPS).
A document that cannot be read gives a Report whose ``error_code`` says why (and ``error`` says
it for people); it never raises.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from pathlib import Path

from extract.checks import run_checks
from extract.errors import ExtractionError
from extract.formats.docx import read_docx
from extract.formats.html import read_html
from extract.formats.lattice import NAME as LATTICE_NAME
from extract.formats.lattice import read_pdf_lattice
from extract.formats.office import read_office
from extract.formats.pdf import NAME as PLUMBER_NAME
from extract.formats.pdf import read_pdf, refuse_bombs
from extract.formats.pdfium_grid import NAME as FAST_NAME
from extract.formats.pdfium_grid import read_pdf_fast
from extract.formats.scan_pdf import flag_ocr_cells, read_scanned_pdf
from extract.formats.sniff import sniff
from extract.formats.text import read_text
from extract.interpret import interpret
from extract.metadata import read_metadata
from extract.model import Anomaly, Content, Report, Status
from extract.rules import READING_RULES
from extract.version import extractor_version

MAX_DOCUMENT_BYTES = 100 * 1024 * 1024


def _read(fmt: str, path: Path, data: bytes, workdir: Path,
          images: Mapping[str, Path] | None, url: str | None) -> Content:
    if fmt == "html":
        return read_html(data, images, url)
    if fmt == "docx":
        return read_docx(path)
    if fmt == "text":
        return read_text(data)
    return read_office(path, workdir)


def build_report(base: Report, content: Content) -> Report:
    """A Report of ``content``'s cells, metadata and checks, on top of ``base``'s file facts."""
    reading = interpret(content.tables)
    meta = read_metadata(content.text)
    report = Report(file=base.file, sha256=base.sha256, format=base.format, agency=meta.agency,
                    year=meta.year, title=meta.title, templates=reading.templates,
                    cells=reading.cells, extractor=content.extractor,
                    extractor_version=extractor_version(content.extractor_version),
                    extra_columns=reading.extra_columns,
                    notes=[a.detail for a in reading.anomalies],  # the trail for people
                    anomalies=list(reading.anomalies),  # what the cascade decides on
                    readers=[*base.readers, content.extractor])
    if meta.period_year and meta.year and meta.period_year != meta.year:
        # metadata, not table structure: a note for people, no reason to read the tables again
        report.notes.append(f"title says {meta.year}, the 统计期限 sentence {meta.period_year}")
    if not reading.cells:
        raise ExtractionError("not_a_report", "no table of the report format was found")
    if all(cell.value is None for cell in reading.cells.values()):
        raise ExtractionError("not_a_report", "the report tables carry no numbers "
                                              "(a blank template or a notice about the format)")
    report.checks = run_checks(report)
    report.anomalies += _missing(report)
    flag_ocr_cells(report, content)
    if content.pages_without_text and _faults(report)[1]:
        raise ExtractionError("no_text_layer", f"pages {content.pages_without_text} have no text "
                                               "layer (scanned); OCR is not supported")
    return report


def _missing(report: Report) -> list[Anomaly]:
    """R5's missing tables and cells as anomalies (negative counts are values, not structure)."""
    found = []
    for check in report.checks:
        if check.rule != "R5" or check.status is not Status.FAIL or check.subject == "report":
            continue
        kind = "missing_cells" if check.cells else "missing_table"
        found.append(Anomaly(kind, f"{check.subject}: {check.message}"))
    return found


def _faults(report: Report) -> tuple[int, int]:
    """(failed instances of the rules that rank readings (R1-R5, extract/rules.py), cells
    missing): smaller is better."""
    failed = sum(1 for c in report.checks if c.rule in READING_RULES and c.status is Status.FAIL)
    missing = sum(len(c.cells) for c in report.checks
                  if c.rule == "R5" and c.status is Status.FAIL and c.subject != "report")
    return failed, missing


def _doubted(report: Report) -> bool:
    """Structural doubt: a row not placed as printed, a missing table or cell (``anomalies``).
    Failing arithmetic (R1-R4) is no doubt about the reading: reports print wrong sums, and
    every reader reads the same wrong sums."""
    return bool(report.anomalies)


def _rank(report: Report) -> tuple[int, int, int]:
    """``_faults`` and then the checks left UNCERTAIN: with equal faults, a reading whose numbers
    complete more identities (that then hold) has more of its cells confirmed."""
    uncertain = sum(1 for c in report.checks
                    if c.rule in READING_RULES and c.status is Status.UNCERTAIN)
    return (*_faults(report), uncertain)


def _same_reading(a: Report, b: Report) -> bool:
    return a.values() == b.values() and a.templates == b.templates


def _extends(a: Report, b: Report) -> bool:
    """``a`` reads every number ``b`` reads, and numbers in cells ``b`` leaves blank (a digit
    that a page crop or a table finder lost), on the same templates."""
    va, vb = a.values(), b.values()
    return (a.templates == b.templates and va.keys() == vb.keys() and va != vb
            and all(vb[k] is None or va[k] == vb[k] for k in vb))


def _read_pdf(base: Report, path: Path) -> Report:
    """The PDF cascade: PDFium grid, then pdfplumber, then camelot lattice, each only when needed.

    The fast reading stands alone unless it has structural doubt (see ``_doubted``); then
    pdfplumber reads the file too, and the fast reading is kept only
    when it reads the same cells, ranks strictly better (``_rank``), or ranks the same and
    extends pdfplumber's reading (``_extends``); else pdfplumber's stands. A result that still
    fails a check gets camelot lattice's second opinion, as before.
    """
    content = read_pdf_fast(path)  # encrypted, corrupt and scanned files are refused here
    fast: Report | None
    try:
        fast = build_report(base, content)
    except ExtractionError as exc:  # e.g. a table without ruling lines: no grid, no cells
        fast, why = None, f"{FAST_NAME} read no report ({exc.code})"
    else:
        if not _doubted(fast):
            fast.notes.append(f"pdf cascade: {FAST_NAME} verified (every check passes)"
                              if all(c.status is Status.PASS for c in fast.checks) else
                              f"pdf cascade: {FAST_NAME} kept: no structural doubt (failed "
                              f"checks are the document's own arithmetic)")
            return fast
        why = (f"{FAST_NAME} faults {_faults(fast)}, {len(fast.anomalies)} anomalies "
               f"({', '.join(sorted({a.kind for a in fast.anomalies}))})")
    try:
        plumber = build_report(base, read_pdf(path))
    except ExtractionError as exc:
        if fast is None:
            raise
        fast.readers.append(PLUMBER_NAME)
        fast.notes.append(f"pdf cascade: {why}; pdfplumber read no report ({exc.code})")
        return fast
    if fast is None:
        chosen, step = plumber, "pdfplumber"
    elif _same_reading(fast, plumber):
        chosen, step = fast, f"pdfplumber read the same cells, kept {FAST_NAME}"
    elif _rank(fast) < _rank(plumber):
        chosen, step = fast, f"pdfplumber ranks {_rank(plumber)}, kept {FAST_NAME} {_rank(fast)}"
    elif _rank(fast) == _rank(plumber) and _extends(fast, plumber):
        chosen, step = fast, f"pdfplumber read a subset of the cells, kept {FAST_NAME}"
    else:
        chosen, step = plumber, f"pdfplumber ranks {_rank(plumber)}, chose it over {_rank(fast)}"
    chosen.readers = [FAST_NAME, PLUMBER_NAME]
    chosen.notes.append(f"pdf cascade: {why}; {step}")
    return _second_opinion(base, chosen, path, content.text)


def _second_opinion(base: Report, first: Report, path: Path, text: str) -> Report:
    """camelot lattice when the report fails R1-R5 or misses cells; the better one wins."""
    if _faults(first) == (0, 0):
        return first
    try:
        second = build_report(base, read_pdf_lattice(path, text))
    except ExtractionError as exc:
        first.readers.append(LATTICE_NAME)
        first.notes.append(f"second opinion (camelot lattice) unavailable: {exc}")
        return first
    second.readers = [*first.readers, LATTICE_NAME]
    first.readers.append(LATTICE_NAME)
    if _faults(second) < _faults(first):
        second.notes.extend(n for n in first.notes if n.startswith("pdf cascade:"))
        second.notes.append(f"camelot lattice chosen over {first.extractor} {_faults(first)} -> "
                            f"{_faults(second)} (failed rules, missing cells)")
        return second
    first.notes.append("camelot lattice second opinion was not better")
    return first


def extract_document(path: Path, workdir: Path | None = None,
                     suffix: str | None = None, images: Mapping[str, Path] | None = None,
                     url: str | None = None) -> Report:
    """Read one document. ``workdir`` holds conversion scratch files (a temporary one if None);
    ``suffix`` (".wps") names the type of a file whose name does not (a raw-store object);
    ``images`` (image URL -> stored file) are the report images of an HTML page at ``url``."""
    path = Path(path)
    report = Report(file=str(path), sha256="", format="unknown")
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise ExtractionError("too_large", f"{size} bytes (limit {MAX_DOCUMENT_BYTES})")
        data = path.read_bytes()
        report.sha256 = hashlib.sha256(data).hexdigest()
        report.format = sniff(path, data[:8192], suffix)
        if report.format == "pdf":
            refuse_bombs(data)  # before any PDF library inflates a stream
            try:
                return _read_pdf(report, path)
            except ExtractionError as exc:
                if exc.code != "no_text_layer":
                    raise
            return build_report(report, read_scanned_pdf(path))  # a scan: OCR every page
        with tempfile.TemporaryDirectory(prefix="nianbao-", dir=workdir) as scratch:
            content = _read(report.format, path, data, Path(scratch), images, url)
        return build_report(report, content)
    except ExtractionError as exc:
        return report.fail(exc.code, exc.detail)
    except MemoryError:
        return report.fail("too_large", "reading it ran out of memory (over the memory limit)")
    except OSError as exc:
        return report.fail("unreadable", str(exc))
