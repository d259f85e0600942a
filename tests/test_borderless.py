"""Tables printed without ruling lines, read by the fast PDF path (extract/formats/borderless.py).

The documents are the corpus's own, made lineless at test time: the real weihai PDF with its
path objects removed (all of them, or one page's), Chromium prints of the Shanghai HTML and of the
weihai DOCX saved as HTML, with and without borders, and the LibreOffice variants of
tests/variants.py with their borders set to none. Each must read exactly as its answer key says.
"""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest

from extract import extract_document
from extract.formats.borderless_pages import UnruledReader
from extract.formats.pdfium_grid import NAME, read_pdf_fast
from tests.conftest import load_key
from tests.test_fast_pdf import correct, read_with
from tests.variants import BORDERLESS, CHROMIUM, build_variants, known_cells

# Path construction, painting and clipping operators: what draws ruling lines.
_PATH_OPERATORS = {"m", "l", "c", "v", "y", "h", "re", "S", "s", "f", "F", "f*", "B", "B*", "b",
                   "b*", "n", "W", "W*"}


def _without_paths(source: Path, target: Path, pages: set[int] | None = None) -> Path:
    """``source`` with every path object removed from ``pages`` (1-based; None: all pages)."""
    with pikepdf.open(source) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            if pages is not None and number not in pages:
                continue
            page.contents_coalesce()
            ops = [(operands, op) for operands, op in pikepdf.parse_content_stream(page)
                   if str(op) not in _PATH_OPERATORS]
            page.Contents.write(pikepdf.unparse_content_stream(ops))
        pdf.save(target)
    return target


def test_corpus_pdf_without_any_ruling_line_is_read_exactly(tmp_path: Path, data_dir: Path
                                                            ) -> None:
    """The weihai PDF with every path removed: the fast path alone reads every cell, and the
    cascade keeps its verified reading (pdfplumber and camelot are not asked)."""
    pdf = _without_paths(data_dir / "weihai_2020.pdf", tmp_path / "lineless.pdf")
    key = load_key("weihai_2020")
    fast = read_with(read_pdf_fast, pdf)
    assert fast is not None and fast.values() == key["cells"]
    assert fast.templates == key["templates"]
    report = extract_document(pdf)
    assert report.error is None and report.extractor == NAME
    assert report.values() == key["cells"]
    assert report.notes == [f"pdf cascade: {NAME} verified (every check passes)"]


def test_ruled_tables_keep_their_grid_beside_a_lineless_one(tmp_path: Path, data_dir: Path
                                                           ) -> None:
    """Only the appeals page loses its lines: the ruled tables of the other pages give the very
    grids they gave before, and the lineless table is read as well."""
    original = read_pdf_fast(data_dir / "weihai_2020.pdf")
    appeals_page = max(t.page for t in original.tables)
    pdf = _without_paths(data_dir / "weihai_2020.pdf", tmp_path / "mixed.pdf", {appeals_page})
    mixed = read_pdf_fast(pdf)
    before = [t.rows for t in original.tables if t.page != appeals_page]
    assert [t.rows for t in mixed.tables if t.page != appeals_page] == before
    report = read_with(read_pdf_fast, pdf)
    assert report is not None and report.values() == load_key("weihai_2020")["cells"]


def _probed_pages(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of characters of each page the reader for tables without ruling lines is
    given, in call order (the reader itself runs as it is)."""
    probed: list[int] = []
    page = UnruledReader.page

    def counting(self, glyphs, baselines, ruled):
        probed.append(len(glyphs))
        return page(self, glyphs, baselines, ruled)

    monkeypatch.setattr(UnruledReader, "page", counting)
    return probed


def test_a_ruled_report_is_not_searched_for_tables_without_lines(
        tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The weihai PDF's ruled tables give every template cell: no page is searched for tables
    without ruling lines (their cost on a ruled report), and the reading stays exact. Once
    the appeals page loses its lines, a cell is missing from the ruled reading and every page
    with text is searched again, in order."""
    probed = _probed_pages(monkeypatch)
    key = load_key("weihai_2020")
    report = read_with(read_pdf_fast, data_dir / "weihai_2020.pdf")
    assert report is not None and report.values() == key["cells"]
    assert probed == []
    original = read_pdf_fast(data_dir / "weihai_2020.pdf")
    appeals_page = max(t.page for t in original.tables)
    pdf = _without_paths(data_dir / "weihai_2020.pdf", tmp_path / "mixed.pdf", {appeals_page})
    report = read_with(read_pdf_fast, pdf)
    assert report is not None and report.values() == key["cells"]
    with pikepdf.open(pdf) as opened:
        pages = len(opened.pages)
    assert len(probed) == pages - len(original.pages_without_text)
    assert all(n > 0 for n in probed)


@pytest.mark.slow
def test_blank_cells_and_rows_without_values_stay_null(chromium_prints: dict) -> None:
    """The Shanghai print has whole blank columns (科研机构) and rows without any value
    (3.危及“三安全一稳定”): each blank reads as null, never as zero, in its own column."""
    pdf, variant = chromium_prints["shanghai-A4-m20-w1-noborder-chromium"]
    report = read_with(read_pdf_fast, pdf)
    assert report is not None
    values = report.values()
    assert values["requests/denied_security/natural_person"] is None
    assert all(v is None for k, v in values.items() if k.endswith("/research"))
    assert values["requests/new/natural_person"] == 821
    assert values["requests/new/legal_service"] == 2
    assert values["requests/new/other_org"] == 1
    assert values["requests/new/total"] == 859
    assert values == known_cells(variant)


@pytest.fixture(scope="module")
def chromium_prints(tmp_path_factory: pytest.TempPathFactory) -> dict:
    built = build_variants(tmp_path_factory.mktemp("chromium"), CHROMIUM)
    return {variant.name: (pdf, variant) for pdf, variant in built}


@pytest.mark.slow
def test_chromium_prints_are_exact_with_and_without_borders(chromium_prints: dict) -> None:
    """Chromium's print of the Shanghai HTML and of the weihai DOCX saved as HTML (and of some
    layout axes), each with and without borders: the fast path alone reads every cell."""
    assert len(chromium_prints) == len(CHROMIUM)
    lines, wrong = [], []
    for name, (pdf, variant) in chromium_prints.items():
        expected = known_cells(variant)
        got = correct(read_with(read_pdf_fast, pdf), expected)
        lines.append(f"{name}: fast {got}/{len(expected)}")
        if got != len(expected):
            wrong.append(lines[-1])
    print("\n" + "\n".join(lines))
    assert not wrong, wrong


@pytest.mark.slow
def test_libreoffice_variants_without_borders(tmp_path: Path) -> None:
    """Every LibreOffice variant of tests/variants.py (78: both sources, each layout axis and
    the seeded mixtures) once more without ruling lines: the fast path alone reads every cell
    of each. Among them the HTML requests table split into two tables that LibreOffice lays out
    with column widths of their own (the second without a header), headers and labels cut by
    a page break, and cells without padding whose labels and values touch."""
    built = build_variants(tmp_path, BORDERLESS)
    assert len(built) == len(BORDERLESS) == 78
    misses = []
    for pdf, variant in built:
        expected = known_cells(variant)
        got = correct(read_with(read_pdf_fast, pdf), expected)
        if got != len(expected):
            misses.append(f"{variant.name}: fast {got}/{len(expected)}")
    print(f"\nexact on {len(built) - len(misses)}/{len(built)}")
    assert not misses, misses
