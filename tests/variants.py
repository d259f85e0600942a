"""Generated PDF variants of two corpus documents: the same printed cells, laid out differently.

weihai_2020.docx and shanghai_gov_office_2019.html are edited (fonts, table font size, page size
and orientation, margins, column widths, the requests table split by a page break at a given row,
blank lines that move where the page breaks it by itself) and rendered to PDF by LibreOffice, all
in a temporary directory: generated PDFs are never committed. A variant's known values are its
source's answer key; ``build_variants`` keeps only variants whose rendered text still carries
every digit the source's tables print. Used by tests/test_fast_pdf.py and benchmarks/extract.py.

Tables printed without ruling lines (``borderless``: the DOCX table borders set to none, the HTML
tables' ``border="0"``) and prints by Chromium (``printer="chromium"``: the HTML as a portal page
prints; a DOCX is first saved as HTML by LibreOffice) are made the same way; they are used by
tests/test_borderless.py and benchmarks/borderless.py.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import lxml.html
import pypdfium2

DATA = Path(__file__).parent / "data"
DOCX, HTML = "weihai_2020", "shanghai_gov_office_2019"
TWIPS_PER_MM = 1440 / 25.4

PAGES = {"A4": (210, 297), "Letter": (216, 279), "A5": (148, 210), "B5": (176, 250),
         "Legal": (216, 356)}
FONTS = [  # (Latin, CJK); None keeps the source's (Times New Roman / SimSun, substituted)
    (None, None), ("DejaVu Sans", "Noto Sans CJK SC"), ("Nimbus Roman", "Noto Serif CJK SC"),
    ("DejaVu Sans Mono", "Noto Sans Mono CJK SC"), ("URW Bookman", "Noto Serif CJK TC"),
    ("Nimbus Sans Narrow", "Noto Sans CJK JP"), ("C059", "Noto Sans CJK KR"),
]


@dataclass(frozen=True)
class Variant:
    source: str  # DOCX or HTML: the corpus document (and answer key) it is made from
    fonts: tuple[str | None, str | None] = (None, None)
    size: float | None = None  # table text in points; None keeps the source's
    page: str = "A4"
    landscape: bool = False
    margin: float = 20.0  # millimetres, all sides
    width: float = 1.0  # table width, as a share of the width between the margins
    split_at: int | None = None  # requests-table row before which a page break splits the table
    filler: int = 0  # blank lines on a new page before section 三 (moves the natural break)
    align: str | None = None  # "left"/"right": cell text against the border, no cell padding
    borderless: bool = False  # tables printed without ruling lines
    printer: str = "libreoffice"  # or "chromium" (headless --print-to-pdf of the HTML)

    @property
    def name(self) -> str:
        parts = [self.source.split("_")[0], self.page + ("L" if self.landscape else ""),
                 f"m{self.margin:g}", f"w{self.width:g}"]
        if self.fonts[0]:
            parts.append(self.fonts[0].replace(" ", ""))
        if self.size:
            parts.append(f"{self.size:g}pt")
        if self.split_at is not None:
            parts.append(f"split{self.split_at}")
        if self.filler:
            parts.append(f"fill{self.filler}")
        if self.align:
            parts.append(self.align)
        if self.borderless:
            parts.append("noborder")
        if self.printer != "libreoffice":
            parts.append(self.printer)
        return "-".join(parts)


def _axes(source: str) -> list[Variant]:
    """Each value of each axis once (others as the source), then seeded mixtures of all axes."""
    base = Variant(source)
    html = source == HTML
    widths = (0.55, 0.75, 1.0) if html else (0.75, 0.9, 1.0)
    sizes = (7, 8, 10.5, 12)
    splits = (3, 5, 9, 14, 19, 24)
    singles = ([replace(base, fonts=f) for f in FONTS[1:]]
               + [replace(base, size=s) for s in sizes]
               + [replace(base, page=p) for p in PAGES if p != "A4"]
               + [replace(base, landscape=True), replace(base, page="Letter", landscape=True)]
               + [replace(base, margin=m) for m in (8, 35)]
               + [replace(base, width=w) for w in widths if w != 1.0]
               + [replace(base, split_at=r) for r in splits]
               + [replace(base, filler=k) for k in (10, 20, 30)]
               + [replace(base, align=a) for a in ("left", "right")])
    rng = random.Random(f"nianbao-variants-{source}")
    mixed = [Variant(source, fonts=rng.choice(FONTS), size=rng.choice((None, *sizes)),
                     page=rng.choice(list(PAGES)), landscape=rng.random() < 0.25,
                     margin=rng.choice((10, 20, 30)), width=rng.choice(widths),
                     split_at=rng.choice((None, *splits)), filler=rng.choice((0, 0, 12, 25)),
                     align=rng.choice((None, None, "left", "right")))
             for _ in range(8)]
    return singles + mixed


VARIANTS: list[Variant] = list({v.name: v for v in _axes(DOCX) + _axes(HTML)}.values())
# Every LibreOffice variant once more without ruling lines.
BORDERLESS: list[Variant] = [replace(v, borderless=True) for v in VARIANTS]
# Chromium prints of both sources, with and without ruling lines, and some of the axes: among
# them the requests table split by a page break into two tables (each laid out with its own
# column widths) and cells without padding whose right-aligned numbers touch.
CHROMIUM: list[Variant] = [
    replace(v, printer="chromium", borderless=b)
    for v in (Variant(DOCX), Variant(HTML), Variant(HTML, fonts=FONTS[1], size=8),
              Variant(HTML, page="A5"), Variant(HTML, page="A4", landscape=True),
              Variant(HTML, fonts=FONTS[2], size=12), Variant(HTML, split_at=9),
              Variant(HTML, align="right"), Variant(HTML, split_at=9, align="right"))
    for b in (True, False)]


def known_cells(variant: Variant) -> dict:
    """The values every variant must read: its source's answer key."""
    key = json.loads((DATA / "keys" / f"{variant.source}.json").read_text(encoding="utf-8"))
    return key["cells"]


# -- DOCX (WordprocessingML edited as text: the source is one generator's regular output) -----

def _docx_xml(variant: Variant, xml: str) -> str:
    latin, cjk = variant.fonts
    if latin:
        xml = xml.replace('w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="SimSun"',
                          f'w:ascii="{latin}" w:hAnsi="{latin}" w:eastAsia="{cjk}"')
    tables = [m.start() for m in re.finditer("<w:tbl>", xml)]
    ends = [xml.index("</w:tbl>", t) + len("</w:tbl>") for t in tables]
    parts, last = [], 0
    for n, (start, end) in enumerate(zip(tables, ends)):
        table = xml[start:end]
        if variant.size:
            table = re.sub(r'<w:sz w:val="\d+"/>', f'<w:sz w:val="{round(variant.size * 2)}"/>',
                           table)
        grid = sum(int(w) for w in re.findall(r'<w:gridCol w:w="(\d+)"/>', table))
        scale = variant.width * _text_width(variant) / grid
        table = re.sub(r'(<w:(?:gridCol|tcW)(?: w:type="dxa")? w:w=")(\d+)"',
                       lambda m, k=scale: f'{m.group(1)}{round(int(m.group(2)) * k)}"', table)
        if variant.align:
            table = table.replace('<w:jc w:val="center"/>', f'<w:jc w:val="{variant.align}"/>')
            table = table.replace("</w:tblPr>", '<w:tblCellMar><w:left w:w="0" w:type="dxa"/>'
                                  '<w:right w:w="0" w:type="dxa"/></w:tblCellMar></w:tblPr>', 1)
        if variant.borderless:  # explicit "no border" on every edge overrides the table style
            table = table.replace("<w:tblLayout ", "<w:tblBorders>" + "".join(
                f'<w:{edge} w:val="nil"/>' for edge in
                ("top", "left", "bottom", "right", "insideH", "insideV")) + "</w:tblBorders>"
                "<w:tblLayout ", 1)
        if n == 1:
            table = _docx_split(table, variant.split_at)
        parts += [xml[last:start], table]
        last = end
    xml = "".join(parts) + xml[last:]
    if variant.filler:
        heading = xml.rindex("<w:p>", 0, xml.index("三、收到和处理政府信息公开申请情况"))
        xml = (xml[:heading] + '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'
               + "<w:p/>" * variant.filler + xml[heading:])
    return _docx_section(variant, xml)


def _text_width(variant: Variant) -> float:
    """The page's width between the margins, in twips."""
    width, height = PAGES[variant.page]
    return ((height if variant.landscape else width) - 2 * variant.margin) * TWIPS_PER_MM


def _docx_split(table: str, row: int | None) -> str:
    """The table split before ``row`` into two tables with a page break between; a cell merged
    down across the split starts afresh (blank) in the second part."""
    if row is None:
        return table
    starts = [m.start() for m in re.finditer("<w:tr>", table)]
    head = table[: table.index("<w:tr>")]  # <w:tbl>, its properties and grid
    rest = table[starts[row]:]
    first_row = rest[: rest.index("</w:tr>")]
    rest = first_row.replace("<w:vMerge/>", '<w:vMerge w:val="restart"/>') + rest[len(first_row):]
    return (table[: starts[row]] + "</w:tbl>"
            + '<w:p><w:r><w:br w:type="page"/></w:r></w:p>' + head + rest)


def _docx_section(variant: Variant, xml: str) -> str:
    width, height = PAGES[variant.page]
    if variant.landscape:
        width, height = height, width
    orient = ' w:orient="landscape"' if variant.landscape else ""
    margin = round(variant.margin * TWIPS_PER_MM)
    xml = re.sub(r"<w:pgSz [^>]*/>", f'<w:pgSz w:w="{round(width * TWIPS_PER_MM)}" '
                 f'w:h="{round(height * TWIPS_PER_MM)}"{orient}/>', xml)
    return re.sub(r"<w:pgMar [^>]*/>", f'<w:pgMar w:top="{margin}" w:right="{margin}" '
                  f'w:bottom="{margin}" w:left="{margin}" w:header="360" w:footer="360" '
                  'w:gutter="0"/>', xml)


def write_docx(variant: Variant, path: Path) -> None:
    with zipfile.ZipFile(DATA / f"{DOCX}.docx") as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                data = _docx_xml(variant, data.decode("utf-8")).encode("utf-8")
            out.writestr(item, data)


# -- HTML -------------------------------------------------------------------------------------

def _html_split(table, row: int | None) -> None:
    """Split ``table`` before ``row`` (as ``_docx_split``); a cell whose rowspan crosses the
    split is cut there and continued by a blank cell in the second table."""
    if row is None:
        return
    rows = table.xpath("./tbody/tr|./tr")
    taken: set[tuple[int, int]] = set()
    starts = []
    for r, tr in enumerate(rows):
        col = 0
        for td in tr.xpath("./td|./th"):
            while (r, col) in taken:
                col += 1
            span, cols = int(td.get("rowspan", 1)), int(td.get("colspan", 1))
            taken.update((a, b) for a in range(r, r + span) for b in range(col, col + cols))
            starts.append((td, r, col))
            col += cols
    for td, r, col in starts:
        span = int(td.get("rowspan", 1))
        if r < row < r + span:
            td.set("rowspan", str(row - r))
            blank = lxml.html.fromstring("<td><p>&nbsp;</p></td>")
            blank.set("rowspan", str(r + span - row))
            blank.set("colspan", td.get("colspan", "1"))
            after = [c for c, rr, cc in starts if rr == row and cc > col]
            (after[0].addprevious(blank) if after else rows[row].append(blank))
    second = lxml.html.fromstring("<table><tbody></tbody></table>")
    for name, value in table.attrib.items():
        second.set(name, value)
    body = second.find("tbody")
    for tr in rows[row:]:
        body.append(tr)
    table.addnext(second)
    table.addnext(lxml.html.fromstring('<p style="page-break-before: always">&nbsp;</p>'))


def html_text(variant: Variant) -> str:
    root = lxml.html.fromstring((DATA / f"{HTML}.html").read_text(encoding="utf-8"))
    tables = root.xpath("//table")
    for table in tables:
        table.set("width", f"{round(variant.width * 100)}%")
        if variant.borderless:
            table.set("border", "0")
        if variant.align:
            table.set("cellpadding", "0")
            for cell in table.xpath(".//p[@align]|.//td[@align]"):
                cell.set("align", variant.align)
    _html_split(tables[1], variant.split_at)
    if variant.filler:
        heading = root.xpath("//p[contains(., '三、收到和处理政府信息公开申请情况')]")[0]
        heading.addprevious(lxml.html.fromstring('<p style="page-break-before: always">&nbsp;</p>'))
        for _ in range(variant.filler):
            heading.addprevious(lxml.html.fromstring("<p>&nbsp;</p>"))
    width, height = PAGES[variant.page]
    if variant.landscape:
        width, height = height, width
    css = f"@page {{ size: {width}mm {height}mm; margin: {variant.margin}mm }}"
    latin, cjk = variant.fonts
    if latin:
        css += f" body, p, td {{ font-family: '{latin}', '{cjk}' }}"
    if variant.size:
        css += f" td, td p {{ font-size: {variant.size}pt }}"
    root.find("head").append(lxml.html.fromstring(f"<style>{css}</style>"))
    return lxml.html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")


# -- rendering --------------------------------------------------------------------------------

def _convert(sources: list[Path], outdir: Path, profile: Path, html: bool, to: str = "pdf"
             ) -> None:
    """One LibreOffice run for many files (its start-up is most of the cost), own profile."""
    command = ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless"]
    if html:  # Writer proper (not Writer/Web) honours @page size and margins
        command += ["--infilter=HTML (StarWriter)", "--convert-to", "pdf:writer_pdf_Export"]
    else:
        command += ["--convert-to", to]
    subprocess.run([*command, "--outdir", str(outdir), *map(str, sources)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)


# LibreOffice's HTML export draws cell borders with inline CSS.
_CSS_BORDER = re.compile(r"border(?:-[a-z]+)*\s*:\s*[^;\"]*;?\s*")


def _chromium_print(source: Path, pdf: Path, profile: Path) -> None:
    """``chromium --headless --print-to-pdf`` of one HTML file (its own profile directory)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise RuntimeError("Chromium is needed to print the chromium variants")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--no-pdf-header-footer", f"--user-data-dir={profile}",
                    f"--print-to-pdf={pdf}", source.as_uri()], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)


def _print_with_chromium(variants: list[Variant], directory: Path) -> None:
    """The chromium variants: HTML printed as is; DOCX saved as HTML by LibreOffice first."""
    docx = [directory / "src" / f"{v.name}.docx" for v in variants if v.source == DOCX]
    if docx:
        _convert(docx, directory / "html", directory / "profile-html", False, to="html")
    jobs = []
    for variant in variants:
        page = directory / ("html" if variant.source == DOCX else "src") / f"{variant.name}.html"
        if variant.source == DOCX and variant.borderless:
            page.write_text(_CSS_BORDER.sub("", page.read_text(encoding="utf-8")),
                            encoding="utf-8")
        jobs.append((page, directory / "pdf" / f"{variant.name}.pdf",
                     directory / "chromium" / variant.name))
    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(_chromium_print, *job) for job in jobs]:
            future.result()


def _printed_digits(source: str) -> Counter:
    """The digits the source's table cells print (from its own, non-PDF reading)."""
    from extract import extract_document

    suffix = ".docx" if source == DOCX else ".html"
    report = extract_document(DATA / f"{source}{suffix}")
    return Counter(c for cell in report.cells.values() for c in cell.raw if c.isdigit())


def _carries_every_cell(pdf: Path, digits: Counter) -> bool:
    """Whether the PDF's text has at least the digits of the source's cells. (Digits, not
    numbers: PDFium's plain text runs the numbers of narrow adjacent cells together.)"""
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        text = "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()
    return not digits - Counter(c for c in text if c.isdigit())


def build_variants(directory: Path, variants: list[Variant] | None = None
                   ) -> list[tuple[Path, Variant]]:
    """Render ``variants`` (default: all) as PDFs in ``directory``; (pdf, variant) for each one
    whose text carries every digit of its source's tables. Raises if any does not."""
    variants = VARIANTS if variants is None else variants
    if shutil.which("soffice") is None:
        raise RuntimeError("LibreOffice (soffice) is needed to render the variants")
    jobs: dict[bool, list[Path]] = {False: [], True: []}
    for variant in variants:
        html = variant.source == HTML
        path = directory / "src" / f"{variant.name}{'.html' if html else '.docx'}"
        path.parent.mkdir(parents=True, exist_ok=True)
        if html:
            path.write_text(html_text(variant), encoding="utf-8")
        else:
            write_docx(variant, path)
        if variant.printer == "libreoffice":
            jobs[html].append(path)
    outdir = directory / "pdf"
    outdir.mkdir(exist_ok=True)
    with ThreadPoolExecutor(max_workers=2) as pool:  # one soffice per kind, each its profile
        done = [pool.submit(_convert, paths, outdir, directory / f"profile-{html}", html)
                for html, paths in jobs.items() if paths]
        for future in done:
            future.result()
    chromium = [v for v in variants if v.printer == "chromium"]
    if chromium:
        _print_with_chromium(chromium, directory)
    digits = {source: _printed_digits(source) for source in {v.source for v in variants}}
    built, lost = [], []
    for variant in variants:
        pdf = outdir / f"{variant.name}.pdf"
        if pdf.exists() and _carries_every_cell(pdf, digits[variant.source]):
            built.append((pdf, variant))
        else:
            lost.append(variant.name)
    if lost:
        raise RuntimeError(f"variants missing or without every printed cell: {lost}")
    return built
