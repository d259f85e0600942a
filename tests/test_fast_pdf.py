"""The fast PDF path (PDFium grid) and the PDF cascade, against the answer keys and the variants.

Every corpus PDF must come out of the cascade exactly as its key says; the fast path's own score
is printed (run with -s to see it). Over the generated variants (tests/variants.py, rendered by
LibreOffice into a temporary directory) the cascade must read at least as many cells correctly as
pdfplumber alone, on every variant.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from extract import extract_document
from extract.document import build_report
from extract.errors import ExtractionError
from extract.formats.pdf import read_pdf
from extract.formats.pdfium_grid import NAME, read_pdf_fast
from extract.model import Report
from tests.conftest import corpus_cases, fake_bold_pdf, load_key
from tests.variants import build_variants, known_cells

PDF_CASES = [pytest.param(path, key, id=path.name) for path, key in corpus_cases()
             if path.suffix == ".pdf"]


def correct(report: Report | None, expected: dict) -> int:
    """Cells of ``expected`` the report reads with the same value (and type: 1 is not 1.0)."""
    got = report.values() if report is not None else {}
    return sum(1 for k, v in expected.items()
               if k in got and got[k] == v and (v is None or type(got[k]) is type(v)))


def read_with(reader, path: Path) -> Report | None:
    """One reader alone (no cascade); None when it reads no report."""
    try:
        return build_report(Report(file=str(path), sha256="", format="pdf"), reader(path))
    except ExtractionError:
        return None


@pytest.mark.parametrize("path,key", PDF_CASES)
def test_fast_path_alone_reads_the_corpus_pdf(path: Path, key: dict) -> None:
    report = read_with(read_pdf_fast, path)
    score = correct(report, key["cells"])
    print(f"\n{path.name}: fast path alone {score}/{len(key['cells'])}")
    assert report is not None and report.extractor == NAME
    assert report.values() == key["cells"]
    assert report.templates == key["templates"]


@pytest.mark.parametrize("path,key", PDF_CASES)
def test_cascade_matches_the_key_exactly(path: Path, key: dict) -> None:
    report = extract_document(path)
    assert report.error is None
    assert report.values() == key["cells"]
    assert correct(report, key["cells"]) == len(key["cells"])
    assert any(note.startswith("pdf cascade:") for note in report.notes)


def test_verified_fast_reading_skips_pdfplumber(data_dir: Path) -> None:
    report = extract_document(data_dir / "huaian_city_2024.pdf")
    assert report.extractor == NAME
    assert report.notes == [f"pdf cascade: {NAME} verified (every check passes)"]


def test_fake_bold_copies_are_dropped_by_the_fast_path(tmp_path: Path, data_dir: Path) -> None:
    """PDFium does not merge a glyph printed again 0.3 pt to the right; the grid reader does."""
    fake_bold_pdf(data_dir / "weihai_2020.pdf", tmp_path / "bold.pdf")
    report = read_with(read_pdf_fast, tmp_path / "bold.pdf")
    assert report is not None and report.values() == load_key("weihai_2020")["cells"]


def _rotate_pages(src: Path, dst: Path, angle: int) -> None:
    """Each page stored turned by -``angle`` with /Rotate ``angle``: it displays as before (a
    landscape scan or a printer driver's way to store a page)."""
    import pikepdf

    with pikepdf.open(src) as pdf:
        for page in pdf.pages:
            page.contents_coalesce()
            w, h = (float(v) for v in page.MediaBox[2:])
            cm = {90: f"0 1 -1 0 {h} 0", 180: f"-1 0 0 -1 {w} {h}", 270: f"0 -1 1 0 0 {w}"}
            page.Contents.write(f"q {cm[angle]} cm\n".encode() + page.Contents.read_bytes()
                                + b"\nQ")
            page.MediaBox = [0, 0, w, h] if angle == 180 else [0, 0, h, w]
            page.Rotate = angle
        pdf.save(dst)


@pytest.mark.parametrize("angle", [90, 180, 270])
def test_rotated_pages_are_read_as_displayed(tmp_path: Path, data_dir: Path, angle: int) -> None:
    _rotate_pages(data_dir / "weihai_2020.pdf", tmp_path / "rotated.pdf", angle)
    report = read_with(read_pdf_fast, tmp_path / "rotated.pdf")
    assert report is not None and report.values() == load_key("weihai_2020")["cells"]


def test_ruling_lines_inside_form_xobjects_are_found(tmp_path: Path, data_dir: Path) -> None:
    """Each page's content moved into a scaled form XObject drawn at an offset."""
    import pikepdf

    with pikepdf.open(data_dir / "weihai_2020.pdf") as pdf:
        for page in pdf.pages:
            page.contents_coalesce()
            form = pikepdf.Stream(pdf, page.Contents.read_bytes())
            form.Type, form.Subtype = pikepdf.Name.XObject, pikepdf.Name.Form
            form.BBox, form.Resources = page.MediaBox, page.Resources
            form.Matrix = [0.9, 0, 0, 0.9, 20, 30]
            name = page.add_resource(form, pikepdf.Name.XObject, prefix="Fm")
            page.Contents.write(f"q 1 0 0 1 5 5 cm {name} Do Q".encode())
        pdf.save(tmp_path / "forms.pdf")
    report = read_with(read_pdf_fast, tmp_path / "forms.pdf")
    assert report is not None and report.values() == load_key("weihai_2020")["cells"]


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> list:
    return build_variants(tmp_path_factory.mktemp("variants"))


@pytest.mark.slow
def test_cascade_is_never_worse_than_pdfplumber_on_the_variants(variants: list) -> None:
    assert len(variants) >= 50
    worse, lines = [], []
    fast_exact = 0
    for pdf, variant in variants:
        expected = known_cells(variant)
        fast = correct(read_with(read_pdf_fast, pdf), expected)
        plumber = correct(read_with(read_pdf, pdf), expected)
        cascade_report = extract_document(pdf)
        cascade = correct(cascade_report, expected)
        fast_exact += fast == len(expected)
        lines.append(f"{variant.name}: fast {fast} pdfplumber {plumber} cascade {cascade} "
                     f"/{len(expected)} ({cascade_report.extractor})")
        if cascade < plumber:
            worse.append(lines[-1])
    print("\n" + "\n".join(lines) + f"\nfast path exact on {fast_exact}/{len(variants)} variants")
    assert not worse, worse
