"""OCR of scanned reports: image-only PDFs and the report images of 图片版 HTML pages.

The scans are made here from the corpus (rendered, turned, blurred, JPEG: ``tests/scans.py``)
and read against the corpus answer keys; nothing scanned is committed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from extract import extract_document
from extract.formats.scan_pdf import LOW_CONFIDENCE, flag_ocr_cells
from extract.model import Cell, Content, RawTable, Report, Status
from tests.conftest import DATA, load_key
from tests.portal import fixtures
from tests.portal.expected import EXPECTED
from tests.scans import scanned_image, scanned_pdf

SCANNED = ("hongze_district_2023", "hongze_district_2024", "huaian_city_2024", "weihai_2020")


def _exact(report: Report, key: dict) -> tuple[int, dict]:
    got = report.values()
    wrong = {k: (v, got.get(k, "missing")) for k, v in key["cells"].items()
             if k not in got or got[k] != v or type(got[k]) is not type(v) and v is not None}
    return len(key["cells"]) - len(wrong), wrong


@pytest.mark.slow  # OCR of 20 pages
def test_scanned_corpus_reports_are_read_cell_for_cell(tmp_path: Path) -> None:
    """Image-only, turned, blurred, JPEG renderings of every corpus PDF: >= 99.5 % of all cells
    exact, and every cell says it came from OCR, with its confidence."""
    exact = total = 0
    misses = {}
    for name in SCANNED:
        path = scanned_pdf(DATA / f"{name}.pdf", tmp_path / f"{name}.pdf")
        report = extract_document(path)
        assert report.error is None, (name, report.error)
        assert report.extractor == "ocr-tesseract"
        key = load_key(name)
        assert report.templates == key["templates"]
        assert report.year == key["year"]
        assert all(c.ocr_confidence is not None for c in report.cells.values()
                   if c.raw.strip()), name
        right, wrong = _exact(report, key)
        exact, total = exact + right, total + len(key["cells"])
        misses[name] = wrong
    assert total == 770
    assert exact / total >= 0.995, misses


@pytest.mark.slow  # OCR of 4 images
def test_image_html_report_is_read_from_its_images(tmp_path: Path) -> None:
    """A 图片版 page: its tables are <img> (relative and absolute URLs), read from the stored
    image files the crawler fetched with the page."""
    url = "http://127.0.0.1:8000/art/2025/3/1/art_1_9.html"
    images = {}
    tags = []
    for page in (2, 3, 4, 5):
        stored = scanned_image(DATA / "hongze_district_2024.pdf", page, tmp_path / f"p{page}.png")
        absolute = f"http://127.0.0.1:8000/art/2025/3/1/images/p{page}.png"
        src = f"images/p{page}.png" if page % 2 else absolute
        images[absolute] = stored
        tags.append(f'<p><img src="{src}" alt="第{page}页"></p>')
    html = tmp_path / "page.html"
    html.write_text(
        "<html><head><meta charset='utf-8'>"
        "<title>淮安市洪泽区人民政府2024年政府信息公开工作年度报告"
        "</title></head><body><h1>淮安市洪泽区人民政府2024年政府信息公开工作年度报告</h1>"
        f"{''.join(tags)}<img src='/images/logo.png'></body></html>", encoding="utf-8")

    report = extract_document(html, images=images, url=url)

    key = load_key("hongze_district_2024")
    assert report.error is None, report.error
    assert report.extractor == "html-lxml+ocr"
    assert report.year == 2024 and report.templates == key["templates"]
    right, wrong = _exact(report, key)
    assert right / len(key["cells"]) >= 0.995, wrong
    # without its images the page holds no report
    assert extract_document(html, url=url).error.startswith("not_a_report")


def test_image_html_without_an_ocr_engine_is_ocr_missing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))  # an empty directory: no models
    image = scanned_image(DATA / "weihai_2020.pdf", 2, tmp_path / "p2.png", dpi=72)
    html = tmp_path / "page.html"
    html.write_text("<html><body><img src='p2.png'></body></html>", encoding="utf-8")
    report = extract_document(html, images={"http://x.test/a/p2.png": image},
                              url="http://x.test/a/page.html")
    assert report.error.split(":", 1)[0] == "ocr_missing", report.error


def test_a_low_confidence_cell_is_a_finding_and_keeps_its_number() -> None:
    table = RawTable(rows=[["行政处罚", "4119"], ["行政强制", "195"]], page=3, index=0)
    content = Content(text="", tables=[table], extractor="ocr-tesseract", extractor_version="1",
                      ocr_confidence={0: [[91.0, 30.0], [95.0, 96.0]]})
    report = Report(file="x.pdf", sha256="", format="pdf", cells={
        "disclosure/penalty/decisions": Cell("disclosure/penalty/decisions", 4119, "4119", 3, 0,
                                             "行政处罚"),
        "disclosure/coercion/decisions": Cell("disclosure/coercion/decisions", 195, "195", 3, 0,
                                              "行政强制")})
    flag_ocr_cells(report, content)
    low, high = (report.cells["disclosure/penalty/decisions"],
                 report.cells["disclosure/coercion/decisions"])
    assert (low.value, low.ocr_confidence, high.ocr_confidence) == (4119, 30.0, 96.0)
    findings = [c for c in report.checks if c.rule == "OCR"]
    assert [(c.status, c.subject) for c in findings] == [
        (Status.UNCERTAIN, "disclosure/penalty/decisions")]
    assert f"below {LOW_CONFIDENCE:.0f}" in findings[0].message
    assert report.to_dict()["provenance"]["disclosure/penalty/decisions"]["ocr_confidence"] == 30


def test_an_article_lists_its_report_images() -> None:
    """The crawler fetches a page's <img> pictures with it (absolute, each once, no data: URIs
    and no non-image links); not those of a page whose report is an attachment (icons)."""
    from crawlers.article import parse_article

    page = ("<html><body><h1>某区2024年政府信息公开工作年度报告</h1>"
            "<img src='p1.png' alt='第1页'><img src='/up/p2.JPG'><img src='p1.png'>"
            "<img src='data:image/png;base64,AAAA'><img src='counter.php?id=3'>"
            "{link}</body></html>")
    url = "http://127.0.0.1:8000/art/2025/1/art_9.html"
    article = parse_article(page.format(link=""), url)
    assert [(i.url, i.name) for i in article.images] == [
        ("http://127.0.0.1:8000/art/2025/1/p1.png", "第1页"),
        ("http://127.0.0.1:8000/up/p2.JPG", "p2.JPG")]
    with_attachment = parse_article(page.format(link="<a href='report.pdf'>附件</a>"), url)
    assert [a.url for a in with_attachment.attachments] == [
        "http://127.0.0.1:8000/art/2025/1/report.pdf"]
    assert with_attachment.images == []


@pytest.mark.slow  # OCR of 4 images in an extraction process
def test_stored_page_images_reach_the_extractor(tmp_path: Path) -> None:
    """Raw store -> candidates -> extraction: the images stored as kind "image" of a page are
    not documents of their own; they are given to their page's extraction, which reads them."""
    from crawlers.rawstore import ManifestRow, RawStore
    from flows.pipeline import candidates, extract_all

    store = RawStore(tmp_path / "data")
    page_url = "http://127.0.0.1:8000/art/2025/3/1/art_1_9.html"
    title = "淮安市洪泽区人民政府2024年政府信息公开工作年度报告"
    tags = "".join(f"<p><img src='images/p{n}.png'></p>" for n in (2, 3, 4, 5))
    page = (f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<h1>{title}</h1>{tags}</body></html>").encode()

    def record(data: bytes, url: str, kind: str, parent: str | None) -> str:
        digest, new = store.put(data)
        store.record(ManifestRow("hz", url, url, parent, title, "2025-03-01", None, None, None,
                                 len(data), digest, "2025-03-02T00:00:00Z", 200, kind, new=new))
        return digest

    page_sha = record(page, page_url, "page", None)
    for n in (2, 3, 4, 5):
        image = scanned_image(DATA / "hongze_district_2024.pdf", n, tmp_path / f"p{n}.png")
        record(image.read_bytes(), f"http://127.0.0.1:8000/art/2025/3/1/images/p{n}.png", "image",
               page_url)

    items = candidates(tmp_path / "data", only_new=False)
    assert [item.sha256 for item in items] == [page_sha]
    assert sorted(items[0].images) == [f"http://127.0.0.1:8000/art/2025/3/1/images/p{n}.png"
                                       for n in (2, 3, 4, 5)]
    [report] = extract_all(items, workers=1)
    assert report.error is None, report.error
    right, wrong = _exact(report, load_key("hongze_district_2024"))
    assert right / 186 >= 0.995, wrong


portal = fixtures.portal  # the running test portal, one per session


@pytest.mark.slow  # OCR of 6 page images
def test_portal_image_report_is_read_from_the_pictures_it_serves(portal, tmp_path: Path) -> None:
    """The test portal's 图片版 page: its pictures, fetched over HTTP as the crawler stores
    them, give the report of the PDF they show (ground truth: tests/portal/expected.py)."""
    import urllib.request

    from crawlers.article import parse_article

    site = "hanweb"
    [variant] = [d for d in EXPECTED[site].duplicates
                 if d.documents and d.documents[0].path.endswith(".jpg")]
    page_url = portal.url(site, variant.path)
    with urllib.request.urlopen(page_url, timeout=10) as response:
        page = response.read()
    article = parse_article(page.decode("utf-8"), page_url)
    assert [i.url for i in article.images] == [portal.url(site, d.path)
                                               for d in variant.documents]
    stored = {}
    for n, image in enumerate(article.images):
        with urllib.request.urlopen(image.url, timeout=10) as response:
            stored[image.url] = tmp_path / f"{n}.jpg"
            stored[image.url].write_bytes(response.read())
    html = tmp_path / "page.html"
    html.write_bytes(page)

    report = extract_document(html, images=stored, url=page_url)

    assert report.error is None, report.error
    right, wrong = _exact(report, load_key(variant.key))
    assert right / len(load_key(variant.key)["cells"]) >= 0.995, wrong


@pytest.mark.slow  # OCR of a 6-page scan
def test_portal_scanned_pdf_is_read_through_ocr(portal, tmp_path: Path) -> None:
    """The test portal's scanned PDF (a （全文） variant whose attachment has image-only pages)
    gives its report by OCR (ground truth: tests/portal/expected.py)."""
    import hashlib
    import urllib.request

    site = "hanweb"
    [variant] = [d for d in EXPECTED[site].duplicates
                 if d.documents and d.documents[0].path.endswith(".pdf")]
    [document] = variant.documents
    with urllib.request.urlopen(portal.url(site, document.path), timeout=30) as response:
        data = response.read()
    assert hashlib.sha256(data).hexdigest() == document.sha256
    path = tmp_path / "scan.pdf"
    path.write_bytes(data)

    report = extract_document(path)

    assert report.error is None, report.error
    assert report.extractor == "ocr-tesseract"
    key = load_key(variant.key)
    right, wrong = _exact(report, key)
    assert right / len(key["cells"]) >= 0.995, wrong
