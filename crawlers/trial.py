"""``nianbao try CONFIG``: read one list page of a portal (and its next page) the way the crawl
would, and say of each entry whether it is a report, with agency, year and why. Nothing is
stored: no raw store, no crawl state, no data folder. The loop for writing or fixing a config.

``read_list`` is also how discovery (crawlers/discover.py) tests a column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urldefrag, urlsplit

from scrapy.http import TextResponse

from crawlers.adapters import ADAPTERS, Entry, sniff
from crawlers.config import PortalConfig
from crawlers.detect import TitleVerdict, classify_title
from crawlers.fetch import FetchFailed, PoliteFetcher
from crawlers.selectors import LayoutChanged
from crawlers.spiders.portal import is_soft_404

_INDEX_NAMES = ("index.html", "index.htm", "index.shtml", "index.jsp", "default.html",
                "default.htm")


class TrialFailed(Exception):
    """The list cannot be read as a report column; ``kind``: blocked, soft_404, not_a_list_page,
    layout_changed, no_report, or a fetch kind (robots_disallowed, http_<status>, connection…)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Verdict:
    entry: Entry
    verdict: TitleVerdict

    @property
    def is_report(self) -> bool:
        return self.verdict.is_report


@dataclass
class ListRead:
    """What one list page (and any page it needed first, such as a gkmlpt shell) gave."""

    url: str
    platform: str
    page: TextResponse  # the list page as fetched (discovery reads its links)
    fetched: list[str] = field(default_factory=list)  # the URLs requested, in order
    entries: list[Verdict] = field(default_factory=list)
    next_pages: list[str] = field(default_factory=list)

    @property
    def reports(self) -> list[Verdict]:
        return [v for v in self.entries if v.is_report]


def same_page(a: str, b: str) -> bool:
    """``a`` and ``b`` are one page: equal, or a folder and its index page. The #fragment
    counts (a gkmlpt column is one)."""
    def bare(url: str) -> str:
        url, fragment = urldefrag(url)
        head, _, last = url.rpartition("/")
        return (head + "/" if last in _INDEX_NAMES or not last else url) + "#" + fragment
    return bare(a) == bare(b)


def _parse(response: TextResponse, platform: str, config: PortalConfig):
    try:
        return ADAPTERS[platform].parse_list(response, config)
    except LayoutChanged as exc:
        raise TrialFailed("layout_changed", f"the {platform} adapter cannot read it: {exc}") \
            from exc


def read_list(fetcher: PoliteFetcher, url: str, config: PortalConfig,
              platform: str | None = None) -> ListRead:
    """Fetch the list page at ``url`` and classify its entries by the config's patterns."""
    return read_page(fetcher, _fetch(fetcher, url), config, platform)


def read_page(fetcher: PoliteFetcher, response: TextResponse, config: PortalConfig,
              platform: str | None = None) -> ListRead:
    """The list page ``response`` (already fetched), its entries classified."""
    url = response.url if not response.meta.get("fragment") else \
        f"{response.url}#{response.meta['fragment']}"
    platform = platform or (config.platform if config.platform != "auto" else sniff(response))
    listing = _parse(response, platform, config)
    read = ListRead(url, platform, response, [response.url])
    if not listing.entries and listing.next_pages and platform == "gkmlpt":
        # The hash-routed shell names no rows: its first API page is the list.
        response = _fetch(fetcher, listing.next_pages[0])
        read.fetched.append(response.url)
        listing = _parse(response, platform, config)
    read.entries = [Verdict(e, classify_title(e.title, config.include, config.exclude))
                    for e in listing.entries]
    read.next_pages = [p for p in listing.next_pages
                       if not any(same_page(p, seen) for seen in (url, *read.fetched))]
    return read


def _fetch(fetcher: PoliteFetcher, url: str) -> TextResponse:
    try:
        response = fetcher.get(url)
    except FetchFailed as exc:
        raise TrialFailed(exc.kind, str(exc)) from exc
    if not isinstance(response, TextResponse):
        raise TrialFailed("not_a_list_page", f"{url}: not a text page "
                          f"({response.headers.get(b'Content-Type', b'?').decode('latin-1')})")
    if is_soft_404(response):
        raise TrialFailed("soft_404", f"{url}: a 'page not found' page answered with "
                          f"{response.status}")
    return response


@dataclass
class Trial:
    config: PortalConfig
    pages: list[ListRead]
    next_page_error: TrialFailed | None = None  # the next page announced but not readable

    @property
    def entries(self) -> list[Verdict]:
        return [v for page in self.pages for v in page.entries]

    @property
    def reports(self) -> list[Verdict]:
        return [v for v in self.entries if v.is_report]

    @property
    def failure(self) -> TrialFailed | None:
        """Why the config does not work yet, or None: it finds reports."""
        if self.reports:
            return None
        host = urlsplit(self.pages[0].url).hostname
        return TrialFailed("no_report", f"{host}: none of the {len(self.entries)} entries on "
                           f"{len(self.pages)} list page(s) is a report")


def try_config(config: PortalConfig, delay: float | None = None, pages: int = 2) -> Trial:
    """Read the first start URL's list page and the next one (``pages`` in all). TrialFailed
    when the first cannot be read as a list; ``Trial.failure`` when no entry is a report."""
    fetcher = PoliteFetcher(hosts=config.hosts, delay=config.delay if delay is None else delay,
                            timeout=config.timeout, obey_robots=config.obey_robots,
                            encoding=config.encoding)
    read = read_list(fetcher, config.start_urls[0], config)
    trial = Trial(config, [read])
    while len(trial.pages) < pages and read.next_pages:
        try:
            read = read_list(fetcher, read.next_pages[0], config, platform=read.platform)
        except TrialFailed as exc:
            trial.next_page_error = exc
            break
        trial.pages.append(read)
    return trial
