"""The one spider: a portal config in, report pages and attachments into the raw store.

    scrapy crawl portal -a config=crawlers/portals/example.yaml -a data_dir=data

list pages (adapter per platform) -> entries -> report titles only -> article pages (metadata,
attachments) -> documents. Every failure lands in the crawl report with its kind.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

from crawlers.adapters import ADAPTERS, sniff
from crawlers.antibot import ChallengeBlocked
from crawlers.article import attachment_extension, parse_article
from crawlers.config import load_config
from crawlers.detect import TitleVerdict, classify_title
from crawlers.middlewares import OffsiteRedirect
from crawlers.rawstore import RawStore
from crawlers.report import CrawlReport
from crawlers.selectors import LayoutChanged
from crawlers.state import CrawlState

_SOFT_404 = re.compile(r"页面不存在|页面未找到|找不到(该|此)?页面|404\s*(Not\s*Found|错误)?|已被删除|Page Not Found",
                       re.I)
SOFT_404_MAX_BYTES = 4096
MIN_DELAY = 0.001  # seconds
_COLUMN_PAGE = re.compile(r"(/|/index\.s?html?)$")


def recorded(callback):
    """A callback whose unexpected exception lands in the crawl report (and the crawl goes on)."""

    @functools.wraps(callback)
    def wrapper(self, response: Response):
        try:
            yield from callback(self, response)
        except Exception as exc:  # noqa: BLE001 - any parser bug on one page is that page's error
            self.report.error(f"spider_error:{type(exc).__name__}", f"{response.url}: {exc}")
            self.logger.exception("error processing %s", response.url)

    return wrapper


def is_soft_404(response: Response) -> bool:
    """A 200 answer that is really 'page not found' (small, and says so)."""
    return (isinstance(response, TextResponse) and len(response.body) < SOFT_404_MAX_BYTES
            and bool(_SOFT_404.search(response.text)))


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(self, config: str, data_dir: str = "data", delay: str | None = None,
                 recheck_days: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = load_config(Path(config))
        self.data_dir = Path(data_dir)
        self.allowed_domains = list(self.config.hosts)
        self.delay = float(delay) if delay is not None else self.config.delay
        self.recheck_days = (float(recheck_days) if recheck_days is not None
                             else self.config.recheck_days)
        self.store = RawStore(self.data_dir)
        self.crawl_state = CrawlState(self.data_dir)
        self.report = CrawlReport(self.config.id, self.config.agency)
        self._reports_seen: set[str] = set()
        self._start_folders = [urlsplit(u).path.rsplit("/", 1)[0] + "/"
                               for u in self.config.start_urls]

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # The portal's own politeness and limits (settings freeze after from_crawler).
        # A delay of 0 lets Scrapy's downloader start several queued requests of one host at
        # once (it breaks out of its queue loop only when a delay is set): 1 ms keeps one
        # request in flight per host even with politeness off.
        for name, value in (("DOWNLOAD_DELAY", max(spider.delay, MIN_DELAY)),
                            ("AUTOTHROTTLE_START_DELAY", spider.delay),
                            ("DOWNLOAD_TIMEOUT", spider.config.timeout),
                            ("DOWNLOAD_MAXSIZE", spider.config.max_download_mb * 1024 * 1024)):
            crawler.settings.set(name, value, priority="spider")
        if spider.delay == 0:
            crawler.settings.set("AUTOTHROTTLE_ENABLED", False, priority="spider")
        return spider

    async def start(self) -> AsyncIterator[Request]:
        for url in self.config.start_urls:
            bare, fragment = urldefrag(url)
            request = self._request(bare, self.parse_list, meta={"fragment": fragment or None})
            if request is not None:
                yield request

    def _request(self, url: str, callback, **kwargs: Any) -> Request | None:
        """A request, or None (recorded as ``offsite_link``) for a host outside the allow-list."""
        if urlsplit(url).hostname not in self.allowed_domains:
            self.report.error("offsite_link", url)
            return None
        return Request(url, callback=callback, errback=self.on_error, **kwargs)

    # -- list pages ------------------------------------------------------------------------------
    @recorded
    def parse_list(self, response: Response) -> Iterator[Request]:
        self.report.pages_fetched += 1
        if not isinstance(response, TextResponse) or is_soft_404(response):
            self.report.error("soft_404" if is_soft_404(response) else "not_a_list_page",
                              response.url)
            return
        platform = self.config.platform if self.config.platform != "auto" else sniff(response)
        try:
            listing = ADAPTERS[platform].parse_list(response, self.config)
        except LayoutChanged as exc:
            self.report.error("layout_changed", f"{response.url}: {exc}")
            self.logger.error("layout changed: %s", exc)
            return
        requests = [self._request(url, self.parse_list,
                                  meta={"fragment": response.meta.get("fragment")})
                    for url in [*listing.next_pages, *self._subcolumns(response)]
                    if url != response.url]
        for entry in listing.entries:
            requests.extend(self._follow_entry(entry, response.url))
        yield from (r for r in requests if r is not None)

    def _subcolumns(self, response: TextResponse) -> list[str]:
        """Tier and year sub-columns (部门 / 镇街 / 2021年) below a start URL's folder: links to a
        folder or its index page, deeper than the page itself (a column never leaks upwards)."""
        if not isinstance(response, HtmlResponse):
            return []
        here = urlsplit(response.url).path.rsplit("/", 1)[0] + "/"
        found = []
        for href in response.css("a::attr(href)").getall():
            url = urldefrag(response.urljoin(href.strip()))[0]
            parts = urlsplit(url)
            folder = parts.path.rsplit("/", 1)[0] + "/"
            if (parts.hostname in self.allowed_domains and folder != here
                    and folder.startswith(here) and _COLUMN_PAGE.search(parts.path)
                    and any(folder.startswith(p) for p in self._start_folders)):
                found.append(url)
        return found

    def _follow_entry(self, entry, list_url: str) -> Iterator[Request | None]:
        verdict = classify_title(entry.title, self.config.include, self.config.exclude)
        if entry.title and not verdict.is_report:
            self.report.decoys_skipped += 1
            return
        meta = {"conditional": True, "list_title": entry.title, "list_date": entry.date}
        if attachment_extension(entry.url):  # a list row linking straight to the document
            self._count_report(entry.url)
            yield self._request(entry.url, self.save_attachment, meta={
                **meta, "page": {"url": list_url, "title": entry.title, "date": entry.date},
                "verdict": verdict, "name": entry.title})
        else:
            yield self._request(entry.url, self.parse_article, meta=meta)

    # -- article pages ---------------------------------------------------------------------------
    @recorded
    def parse_article(self, response: Response) -> Iterator[Request | dict]:
        self.report.pages_fetched += 1
        if not isinstance(response, TextResponse) or is_soft_404(response):
            self.report.error("soft_404", response.url)
            return
        article = parse_article(response.text, response.url)
        title = article.title or response.meta.get("list_title")
        verdict = classify_title(title, self.config.include, self.config.exclude)
        if not verdict.is_report:
            self.report.decoys_skipped += 1
            return
        self._count_report(response.url)
        page = {"url": response.url, "title": title,
                "date": article.publish_date or response.meta.get("list_date"),
                "publisher": article.publisher, "index_number": article.index_number}
        yield self._item(response, "page", page, verdict)
        for attachment in article.attachments:
            request = self._request(attachment.url, self.save_attachment, meta={
                "conditional": True, "page": page, "verdict": verdict, "name": attachment.name})
            if request is not None:
                yield request
        for image in article.images:  # a 图片版 report's tables, stored as kind "image"
            request = self._request(image.url, self.save_attachment, meta={
                "conditional": True, "page": page, "verdict": verdict, "name": image.name,
                "kind": "image"})
            if request is not None:
                yield request

    @recorded
    def save_attachment(self, response: Response) -> Iterator[dict]:
        if is_soft_404(response):
            self.report.error("soft_404", response.url)
            return
        yield self._item(response, response.meta.get("kind", "attachment"), response.meta["page"],
                         response.meta["verdict"], name=response.meta.get("name"))

    def _count_report(self, url: str) -> None:
        if url not in self._reports_seen:
            self._reports_seen.add(url)
            self.report.reports_found += 1

    def _item(self, response: Response, kind: str, page: dict, verdict: TitleVerdict,
              name: str | None = None) -> dict:
        year = verdict.year
        if year is None and page.get("date") and int(page["date"][5:7]) <= 6:
            year = int(page["date"][:4]) - 1  # reports appear Jan-Mar for the year before
        return {
            "portal_id": self.config.id,
            "url": response.request.url if response.request else response.url,
            "final_url": response.url,
            "page_url": page["url"] if kind != "page" else None,
            "title": page.get("title"),
            "publish_date": page.get("date"),
            "publisher": page.get("publisher"),
            "index_number": page.get("index_number"),
            "content_type": response.headers.get(b"Content-Type", b"").decode("latin-1") or None,
            "etag": response.headers.get(b"ETag", b"").decode("latin-1") or None,
            "last_modified": response.headers.get(b"Last-Modified", b"").decode("latin-1") or None,
            "http_status": 304 if response.meta.get("unchanged") else response.status,
            "requested": not response.meta.get("not_requested"),
            "kind": kind,
            "agency": verdict.agency or page.get("publisher") or self.config.agency,
            "year": year,
            "attachment_name": name,
            "variant": verdict.variant,
            "body": response.body,
        }

    # -- failures --------------------------------------------------------------------------------
    def on_error(self, failure: Failure) -> None:
        request = failure.request
        exc = failure.value
        if isinstance(exc, ChallengeBlocked):
            self.report.block(exc.vendor, request.url)
        elif isinstance(exc, OffsiteRedirect):
            self.report.error("offsite_redirect", request.url)
        elif isinstance(exc, HttpError):
            self.report.error(f"http_{exc.response.status}", request.url)
        elif isinstance(exc, IgnoreRequest):
            message = str(exc)
            kind = ("robots_disallowed" if "robots" in message.lower() else
                    "offsite" if "offsite" in message.lower() else
                    message.split(":", 1)[0] if message.startswith("retry_after") else "ignored")
            self.report.error(kind, request.url)
        elif isinstance(exc, (TimeoutError, TCPTimedOutError)):
            self.report.error("timeout", request.url)
        elif isinstance(exc, (DNSLookupError, ConnectionRefusedError)):
            self.report.error("connection", request.url)
        else:
            self.report.error(type(exc).__name__, request.url)

    def closed(self, reason: str) -> None:
        self.report.retries = int(self.crawler.stats.get_value("retry/count", 0))
        self.report.finish(reason, self.crawl_state.best_previous_count(self.config.id))
        self.crawl_state.record_crawl(self.config.id, self.report.finished_at or "",
                                self.report.reports_found, self.report.status)
        path = self.report.write(self.data_dir)
        self.logger.info("crawl report %s: %s (%s)", self.config.id, self.report.status, path)
        self.crawl_state.close()
