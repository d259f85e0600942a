"""What a site publishes, as data: the articles its lists link to, and their attachments.

Site modules declare ``Article`` rows; the site renders them and expected.py reads the same rows
to state the ground truth, so what is served and what is expected cannot drift apart.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"  # the real reports (tests/data)
REALPAGES = Path(__file__).parent / "realpages"  # challenge bodies as real WAFs served them


@functools.cache
def data_file(name: str) -> bytes:
    """Bytes of a real report in tests/data, read at run time (never copied)."""
    return (DATA / name).read_bytes()


@functools.cache
def realpage(name: str) -> bytes:
    return (REALPAGES / name).read_bytes()


@functools.cache
def page_images(name: str) -> tuple[bytes, ...]:
    """The pages of a tests/data PDF as a 图片版 page shows them: degraded JPEG scans, made at
    run time (never committed; the same bytes on every call: rendering and JPEG are
    deterministic)."""
    import io

    import pypdfium2

    from tests.scans import degrade

    document = pypdfium2.PdfDocument(str(DATA / name))
    try:
        pages = []
        for n in range(len(document)):
            image = degrade(document[n].render(scale=150 / 72).to_pil(), 0.4, 0.6, 85)
            buffer = io.BytesIO()
            image.convert("L").save(buffer, "JPEG", quality=90)
            pages.append(buffer.getvalue())
        return tuple(pages)
    finally:
        document.close()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Attachment:
    path: str  # site-relative URL: the path, plus the query for Hanweb's downfile.jsp
    source: str  # the file in tests/data whose bytes are served
    name: str  # the human file name (on Hanweb only the link text carries it)
    # How the page links it: "link" (<a href>), "appendix" (TRS appendix="true" OLDSRC markup),
    # "script" (only inside a document.write script).
    form: str = "link"
    scanned: bool = False  # served as an image-only scan of ``source`` (a PDF), made at run time

    @property
    def data(self) -> bytes:
        return scanned_file(self.source) if self.scanned else data_file(self.source)


@functools.cache
def scanned_file(name: str) -> bytes:
    """A tests/data PDF as an image-only scan (``tests/scans.py``: the same bytes every time)."""
    import tempfile

    from tests.scans import scanned_pdf

    with tempfile.TemporaryDirectory(prefix="nianbao-portal-scan-") as scratch:
        return scanned_pdf(DATA / name, Path(scratch) / name).read_bytes()


# Article kinds. A report is one (agency, year); the duplicate kinds point at it with same_as.
KINDS = ("report", "decoy", "repost", "wap", "variant")
# How the errors portal serves an article instead of a plain 200.
FAULTS = ("http_500_once", "http_503_once", "slow", "404", "soft_404", "offsite_redirect")


@dataclass(frozen=True)
class Article:
    """One row of a list page and the page (or file) it links to."""

    path: str  # site-relative URL path of the page (for a bare-file row: of the file)
    title: str  # as the list shows it
    date: str  # publication date, YYYY-MM-DD
    kind: str = "report"
    agency: str | None = None  # reports: the agency as the title names it (else the site's)
    year: int | None = None  # reports: the report year
    tables: bool = False  # the page carries generated report tables (seeded by agency and year)
    r1_broken: bool = False  # ... whose printed numbers break R1
    attachments: tuple[Attachment, ...] = ()
    source: str | None = None  # the page is this tests/data HTML file, served byte for byte
    bare: bool = False  # the row links straight to its one attachment (there is no page)
    same_as: str | None = None  # repost / wap / variant: path of the article it duplicates
    why: str = ""  # decoys and duplicates: what the trap is
    fault: str | None = None  # errors portal: one of FAULTS
    site: str | None = None  # the row links to another site of the portal (the off-list host)
    listed: bool = True  # False: reachable only from another page (the _wap twin)
    heading_year: bool = True  # False: the body heading omits the year (河包镇-style)
    images_of: str | None = None  # 图片版: the tests/data PDF whose pages the page shows

    def image_paths(self) -> tuple[str, ...]:
        """Site paths of the page images of a 图片版 page (beside the page, TRS-style names)."""
        if self.images_of is None:
            return ()
        folder = self.path.rsplit("/", 1)[0]
        stamp = self.date.replace("-", "")
        return tuple(f"{folder}/W0{stamp}{n:09d}.jpg"
                     for n in range(1, len(page_images(self.images_of)) + 1))

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind
        assert self.fault is None or self.fault in FAULTS, self.fault
        assert self.kind == "decoy" or self.year is not None, self.path
        assert not self.bare or (len(self.attachments) == 1
                                 and self.attachments[0].path == self.path), self.path

    @property
    def day(self) -> date:
        return date.fromisoformat(self.date)

    @property
    def seed(self) -> str:
        """Reposts and variants share the numbers of the report they copy."""
        return f"{self.agency}|{self.year}"
