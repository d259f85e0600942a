"""Ground truth of the test portal: what a correct crawl of each site finds, and what it must not.

``EXPECTED[site]`` is a ``SiteExpectation``. Paths are relative to the site's base URL
(``portal.base_url(site)``); an ``Incident`` whose ``site`` is set lies on that other site (the
off-allow-list host). Everything is derived from the declarations the sites serve (sites/*.py) and
from the bytes they serve, so it cannot drift from what is on the wire.

Reasons a URL yields no report, or needed a second try:

* ``404``: gone; ``soft_404``: 200 with a "页面不存在" page;
* ``http_500`` / ``http_503`` (``recovered``: the retry got the page; 503 carries Retry-After: 1);
* ``slow``: first byte after ~3 s (``recovered``: a patient crawler gets it);
* ``offsite_redirect``: 302 to the off-list host; ``offsite_link``: a row linking to it;
* ``robots_disallowed``: under a robots.txt Disallow prefix, never to be requested;
* ``blocked:ruishu`` / ``blocked:jiasule`` / ``blocked:safedog``: the challenge page, not solved.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.portal.content import DATA, Article, page_images, sha256
from tests.portal.pages import report_cells
from tests.portal.server import SiteSpec
from tests.portal.sites import PORTAL_SITES

RECOVERED = {"http_500_once": "http_500", "http_503_once": "http_503", "slow": "slow"}
UNREACHABLE = ("404", "soft_404", "offsite_redirect")


@dataclass(frozen=True)
class Document:
    """One attachment as served."""

    path: str
    sha256: str
    name: str  # the human file name, as the link text shows it
    source: str  # the file in tests/data whose bytes these are


@dataclass(frozen=True)
class Report:
    """One (agency, year) report and where its bytes are."""

    agency: str  # as the title names it; the site's agency where the title names none
    year: int
    title: str  # as listed
    page: str  # the article page; for a bare-file row, the file itself
    page_sha256: str | None  # None for a bare-file row
    attachments: tuple[Document, ...] = ()
    # The numbers are in the HTML page (generated tables, or a real HTML report).
    tables_in_page: bool = False
    # Generated pages: every cell as printed ("table/row/col" -> number). Real documents: None,
    # their answer key is tests/data/keys/<key>.json.
    cells: dict[str, int | float] | None = None
    key: str | None = None
    failing_checks: tuple[str, ...] = ()  # rules the printed numbers break (generated pages)


@dataclass(frozen=True)
class Duplicate:
    """Another URL carrying a report already counted: it must not become a second report."""

    path: str
    of: str  # the page of the report it duplicates
    kind: str  # repost (new URL later), wap (mobile twin), variant (（图片版）/（超链版）)
    sha256: str
    why: str
    # What the crawler fetches with the page: a 图片版 page's pictures (its tables are read from
    # them by OCR), a variant's attachments (a scanned PDF); the answer key of what they show.
    documents: tuple[Document, ...] = ()
    key: str | None = None


@dataclass(frozen=True)
class Decoy:
    """A listed page that looks like a report and is not one."""

    path: str
    title: str
    why: str


@dataclass(frozen=True)
class Incident:
    path: str
    reason: str
    recovered: bool = False  # a retry (or patience) got the page; its report is expected
    site: str | None = None  # the path is on this other site (the off-list host)


@dataclass(frozen=True)
class SiteExpectation:
    site: str
    portal_id: str
    agency: str  # the portal config's agency
    address: str
    start: str  # the start URL's path (with gkmlpt's #fragment)
    family: str  # the platform a sniffer should find: trs, hanweb, gkmlpt, static
    blocked: str | None  # the challenge vendor when every page is a challenge
    reports: tuple[Report, ...] = ()
    duplicates: tuple[Duplicate, ...] = ()
    decoys: tuple[Decoy, ...] = ()
    incidents: tuple[Incident, ...] = ()
    robots_disallowed: tuple[str, ...] = ()  # path prefixes no request may start with
    by_year: dict[tuple[str, int], Report] = field(default_factory=dict, repr=False)

    def report(self, agency: str, year: int) -> Report:
        return self.by_year[(agency, year)]

    def reasons(self) -> dict[str, str]:
        """path -> reason, for the URLs that yield no report."""
        return {i.path: i.reason for i in self.incidents if not i.recovered}


def _key(source: str) -> str | None:
    stem = source.rsplit(".", 1)[0]
    return stem if (DATA / "keys" / f"{stem}.json").exists() else None


def _report(spec: SiteSpec, a: Article) -> Report:
    documents = tuple(Document(att.path, sha256(att.data), att.name, att.source)
                      for att in a.attachments)
    source = a.source or (a.attachments[0].source if a.attachments else None)
    return Report(
        agency=a.agency or spec.agency, year=a.year or 0, title=a.title, page=a.path,
        page_sha256=None if a.bare else sha256(spec.render(a)),  # type: ignore[misc]
        attachments=documents, tables_in_page=a.tables or a.source is not None,
        cells=report_cells(a.seed, a.r1_broken) if a.tables else None,
        key=_key(source) if source else None, failing_checks=("R1",) if a.r1_broken else ())


def _site(spec: SiteSpec) -> SiteExpectation:
    reports, duplicates, decoys, incidents = [], [], [], []
    for a in spec.articles:
        if a.site:
            incidents.append(Incident(a.path, "offsite_link", site=a.site))
        elif any(a.path.startswith(prefix) for prefix in spec.disallowed):
            incidents.append(Incident(a.path, "robots_disallowed"))
        elif a.fault in UNREACHABLE:
            incidents.append(Incident(a.path, a.fault))
        elif a.kind == "decoy":
            decoys.append(Decoy(a.path, a.title, a.why))
        elif a.kind == "report":
            if a.fault:
                incidents.append(Incident(a.path, RECOVERED[a.fault], recovered=True))
            reports.append(_report(spec, a))
        else:
            images = tuple(Document(path, sha256(data), path.rsplit("/", 1)[1], a.images_of)
                           for path, data in zip(a.image_paths(), page_images(a.images_of))
                           ) if a.images_of else ()
            documents = images + tuple(Document(att.path, sha256(att.data), att.name, att.source)
                                       for att in a.attachments)
            shown = a.images_of or (a.attachments[0].source if a.attachments else None)
            duplicates.append(Duplicate(a.path, a.same_as or "", a.kind,
                                        sha256(spec.render(a)), a.why,  # type: ignore[misc]
                                        documents, _key(shown) if shown else None))
    if spec.blocked:
        incidents.append(Incident(spec.start, f"blocked:{spec.blocked}"))
    by_year = {(r.agency, r.year): r for r in reports}
    assert len(by_year) == len(reports), f"{spec.name}: two reports for one (agency, year)"
    return SiteExpectation(
        site=spec.name, portal_id=spec.portal_id, agency=spec.agency, address=spec.address,
        start=spec.start, family=spec.family, blocked=spec.blocked, reports=tuple(reports),
        duplicates=tuple(duplicates), decoys=tuple(decoys), incidents=tuple(incidents),
        robots_disallowed=spec.disallowed, by_year=by_year)


EXPECTED: dict[str, SiteExpectation] = {spec.name: _site(spec) for spec in PORTAL_SITES}
OFFSITE = "offsite"  # the host no request may reach
