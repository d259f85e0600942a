"""``nianbao discover``: from a government site's home page (or its 政府信息公开 page) to portal
configs for its annual-report columns.

A breadth-first walk over the site's own links, bounded by depth and a page cap, through the
polite fetcher (crawlers/fetch.py: User-Agent, robots.txt, delay, challenge pages). Links are
read by their text:

- a column candidate names 年报 / 年度报告 (政府信息公开年报, 部门年报, 年度报告专栏 …);
- a navigation page names 政府信息公开 / 政务公开 / 公开目录, or sits at an xxgk/gkml path;
- a decoy column (政府网站工作年度报表, 预决算, 年度计划, 工作总结 …) is listed, never fetched;
- folders below a confirmed column (per-department / town sub-columns) are candidates too.

A candidate is confirmed only when its platform adapter reads it as a list with at least one
entry that crawlers/detect.py classifies as a report. Each confirmed column becomes one config
with ``verified: false``, the sniffed platform, and the evidence (link text, page, first-page
counts) in ``notes``.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import yaml
from scrapy.http import HtmlResponse, TextResponse

from crawlers.article import attachment_extension
from crawlers.config import PortalConfig, load_config, on_hosts
from crawlers.detect import classify_title
from crawlers.fetch import FetchFailed, PoliteFetcher
from crawlers.trial import TrialFailed, read_list, read_page, same_page

COLUMN_TEXT = re.compile(r"年报|年度报告")
DECOY_TEXT = re.compile(r"报表|预决算|预算|决算|年度计划|工作计划|工作总结|工作要点|法治政府|"
                        r"政府工作报告|统计年报|统计公报|审计")
NAV_TEXT = re.compile(r"政府信息公开|信息公开|政务公开|公开目录|主动公开")
NAV_SKIP = re.compile(r"指南|制度|规定|依申请|申请|查询|意见箱|留言")  # pages with no columns
# The root of an 信息公开 section (not every page below it).
NAV_PATH = re.compile(r"/(?:zfxxgk|xxgk|zwgk|gkml|xxgkml)/(?:index\.s?html?)?$|/gkmlpt/index$",
                      re.I)
_COLUMN_PAGE = re.compile(r"(/|/index\.s?html?)$")
LABEL_MAX = 24  # characters: longer link texts are article titles, not navigation labels
_SITE_NAME_NOISE = re.compile(r"(门户网站|政府网站|官方网站|网站|首页|欢迎您?)$")


@dataclass(frozen=True)
class Link:
    url: str
    text: str
    page: str  # where the link was found
    depth: int  # links from the start page


@dataclass
class Column:
    site: str
    url: str
    platform: str
    link: Link
    entries: int
    reports: int
    example: str  # a report title on the first page


@dataclass
class Rejected:
    site: str
    url: str
    text: str
    reason: str


@dataclass
class SiteFound:
    start: str
    agency: str | None = None
    columns: list[Column] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    pages_fetched: int = 0
    error: str | None = None  # the start page itself could not be read


def _link_url(base: str, href: str) -> str:
    url = urljoin(base, href.strip())
    # Hash-routed gkmlpt pages name their column in the fragment: keep it there, drop it elsewhere.
    return url if "/gkmlpt/" in urlsplit(url).path else urldefrag(url)[0]


def page_links(response: TextResponse) -> list[tuple[str, str]]:
    """(absolute URL, text) of the page's links, text from @title where the anchor has none."""
    if not isinstance(response, HtmlResponse):
        return []
    found = []
    for anchor in response.css("a[href]"):
        href = anchor.attrib.get("href", "")
        if not href.strip() or href.strip().startswith(("javascript:", "mailto:", "#")):
            continue
        text = " ".join(t.strip() for t in anchor.xpath(".//text()").getall() if t.strip())
        text = text or anchor.attrib.get("title", "").strip()
        found.append((_link_url(response.url, href), text))
    return found


def site_name(response: TextResponse) -> str | None:
    """The site's name from its SiteName meta or its <title>."""
    if not isinstance(response, HtmlResponse):
        return None
    name = response.css('meta[name="SiteName"]::attr(content)').get()
    if not name:
        title = (response.css("title::text").get() or "").strip()
        parts = [p.strip() for p in re.split(r"[_|｜\-—·]", title) if p.strip()]
        name = next((p for p in parts if "政府" in p), parts[-1] if parts else "")
    name = _SITE_NAME_NOISE.sub("", name.strip()).strip()
    return name or None


COLUMN, NAVIGATION, DECOY = "column", "navigation", "decoy"


def link_role(text: str, url: str) -> str | None:
    """What a link with this text leads to: a report COLUMN candidate, a NAVIGATION page worth
    reading for its links, a DECOY column, or None (a report itself, a file, anything else)."""
    if not text or attachment_extension(url) or classify_title(text).is_report:
        return None  # a report itself, not a column of them
    label = len(text) <= LABEL_MAX
    if label and DECOY_TEXT.search(text) and (COLUMN_TEXT.search(text)
                                              or not NAV_TEXT.search(text)):
        return DECOY
    if label and COLUMN_TEXT.search(text):
        return COLUMN
    if ((label and NAV_TEXT.search(text)) or NAV_PATH.search(urlsplit(url).path)) \
            and not NAV_SKIP.search(text):
        return NAVIGATION
    return None


def page_name(response: TextResponse) -> str:
    """What a page calls itself: its ColumnName meta, else its <title>."""
    if not isinstance(response, HtmlResponse):
        return ""
    return (response.css('meta[name="ColumnName"]::attr(content)').get()
            or response.css("title::text").get() or "").strip()


class _Walk:
    def __init__(self, start: str, fetcher: PoliteFetcher, max_pages: int, max_depth: int,
                 agency: str | None) -> None:
        self.found = SiteFound(start, agency)
        self.host = urlsplit(start).hostname or ""
        self.fetcher = fetcher
        self.max_pages, self.max_depth = max_pages, max_depth
        self.config = PortalConfig(id="discover", agency=agency or self.host, start_urls=(start,))
        # Column candidates are tried before more navigation is read: under the page cap, the
        # columns already seen matter more than pages that may lead to others.
        self.candidates: deque[Link] = deque()
        self.navigation: deque[Link] = deque([Link(start, "", "", 0)])
        self.queued: list[str] = [start]
        self.column_keys: set[frozenset[str]] = set()

    def run(self) -> SiteFound:
        while self.candidates or self.navigation:
            is_candidate = bool(self.candidates)
            link = (self.candidates if is_candidate else self.navigation).popleft()
            if self.fetcher.requests >= self.max_pages:
                self._reject(link, f"not visited: page cap ({self.max_pages}) reached")
                continue
            if is_candidate:
                self._try_column(link)
            else:
                self._visit(link)
        self.found.pages_fetched = self.fetcher.requests
        return self.found

    def _reject(self, link: Link, reason: str) -> None:
        self.found.rejected.append(Rejected(self.host, link.url, link.text, reason))

    def _enqueue(self, link: Link, is_candidate: bool) -> None:
        if any(same_page(link.url, seen) for seen in self.queued):
            return
        self.queued.append(link.url)
        (self.candidates if is_candidate else self.navigation).append(link)

    def _visit(self, link: Link) -> None:
        try:
            response = self.fetcher.get(link.url)
        except FetchFailed as exc:
            if link.depth == 0:
                self.found.error = f"{exc.kind}: {exc}"
            else:
                self._reject(link, f"{exc.kind}: {exc}")
            return
        if not isinstance(response, TextResponse):
            if link.depth == 0:
                self.found.error = f"not_a_page: {link.url} is not a text page"
            return
        if link.depth == 0 and not self.found.agency:
            self.found.agency = site_name(response)
        name = page_name(response)
        if link.depth == 0 and COLUMN_TEXT.search(name) and not DECOY_TEXT.search(name):
            # Started on a column page itself: it is a candidate like any link to it.
            if self._try_column(Link(link.url, name, "", 0), response):
                return
        for url, text in page_links(response):
            self._read_link(Link(url, text, response.url, link.depth + 1))

    def _read_link(self, link: Link) -> None:
        if not on_hosts(link.url, (self.host,)):
            return
        role = link_role(link.text, link.url)
        if role == DECOY:
            if not any(r.url == link.url for r in self.found.rejected):
                self._reject(link, f"decoy column ({DECOY_TEXT.search(link.text).group(0)})")
        elif role == COLUMN:
            self._enqueue(link, True)
        elif role == NAVIGATION and link.depth <= self.max_depth:
            self._enqueue(link, False)

    def _try_column(self, link: Link, response: TextResponse | None = None) -> bool:
        """Whether ``link`` (already fetched as ``response``, or not yet) is a report column."""
        try:
            read = read_page(self.fetcher, response, self.config) if response is not None \
                else read_list(self.fetcher, link.url, self.config)
        except TrialFailed as exc:
            self._reject(link, f"{exc.kind}: {exc}")
            return False
        key = frozenset(v.entry.url for v in read.entries)
        if not read.reports:
            self._reject(link, f"not a report column: no report among its {len(read.entries)} "
                               "entries")
        elif key in self.column_keys:
            self._reject(link, "the same list as a column already found")
        else:
            self.column_keys.add(key)
            self.found.columns.append(Column(
                self.host, link.url, read.platform, link, len(read.entries), len(read.reports),
                read.reports[0].entry.title or ""))
        if read.reports and link.depth < self.max_depth + 1:
            self._subcolumns(read.page, link)
        return bool(read.reports)

    def _subcolumns(self, page: TextResponse, column: Link) -> None:
        """Report-named links on a column page, and links to column folders below it."""
        here = urlsplit(page.url).path.rsplit("/", 1)[0] + "/"
        for url, text in page_links(page):
            link = Link(url, text, page.url, column.depth + 1)
            path = urlsplit(url).path
            folder = path.rsplit("/", 1)[0] + "/"
            below = folder != here and folder.startswith(here) and _COLUMN_PAGE.search(path)
            if below and on_hosts(url, (self.host,)) and text \
                    and not DECOY_TEXT.search(text):
                self._enqueue(link, True)
            elif COLUMN_TEXT.search(text):
                self._read_link(link)


def discover_site(start: str, agency: str | None = None, *, delay: float = 2.0,
                  max_pages: int = 30, max_depth: int = 3) -> SiteFound:
    """The report columns of the site at ``start``: at most ``max_pages`` requests (robots.txt
    included), navigation followed at most ``max_depth`` links deep, same host only."""
    try:
        host = urlsplit(start).hostname or ""
    except ValueError as exc:
        return SiteFound(start, agency, error=f"bad_url: {exc}")
    fetcher = PoliteFetcher(hosts=(host,), delay=delay)
    walk = _Walk(start, fetcher, max_pages, max_depth, agency)
    try:
        return walk.run()
    except Exception as exc:  # noqa: BLE001 - a parser bug on one site is that site's error
        walk.found.error = f"discover_error:{type(exc).__name__}: {exc}"
        walk.found.pages_fetched = fetcher.requests
        return walk.found


def read_sites(path: Path) -> list[tuple[str | None, str]]:
    """(name, url) per line of a sites file: a URL a line, or a CSV with name,url."""
    sites = []
    for line in Path(path).read_text(encoding="utf-8-sig").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, url = line.rpartition(",")
        url = url.strip()
        if not url.startswith(("http://", "https://")):
            continue  # a header row (name,url)
        sites.append((name.strip().strip('"') or None, url))
    return sites


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def config_id(url: str) -> str:
    """A readable id: the host without www/gov/cn, then the column's path (index page dropped)."""
    parts = urlsplit(url)
    labels = [p for p in (parts.hostname or "").split(".")
              if p not in ("www", "gov", "cn", "com", "org", "net")]
    path = re.sub(r"/(index|default)\.\w+$", "/", parts.path).strip("/").split("/")[-2:]
    slug = _slug("-".join([*labels, *path, parts.fragment]))
    return (slug[:64].rstrip("-_") or "portal").rjust(2, "0")


def write_configs(found: list[SiteFound], out: Path, today: date | None = None) -> list[Path]:
    """One config per confirmed column, ``verified: false``; each loads with load_config."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    used: set[str] = set()
    day = (today or date.today()).isoformat()
    for site in found:
        for column in site.columns:
            base = config_id(column.url)
            portal_id, n = base, 2
            while portal_id in used:
                portal_id, n = f"{base[:60]}-{n}", n + 1
            used.add(portal_id)
            link = column.link
            where = f"on {link.page}" if link.page else "(the start page)"
            notes = (f"Found by nianbao discover on {day} from {site.start}: the link "
                     f"“{link.text}” {where}, {link.depth} link(s) from the start. "
                     f"First list page: {column.entries} entries, {column.reports} reports, "
                     f"e.g. “{column.example}”. Not crawled yet: check with nianbao try.")
            data = {"id": portal_id, "agency": site.agency or site.start,
                    "start_urls": [column.url], "platform": column.platform,
                    "verified": False, "notes": notes}
            path = out / f"{portal_id}.yaml"
            path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False,
                                           width=100), encoding="utf-8")
            load_config(path)  # what we write must load
            written.append(path)
    return written
