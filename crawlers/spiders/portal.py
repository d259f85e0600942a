"""The one spider: a portal config in, report pages and attachments into the raw store.

    scrapy crawl portal -a config=crawlers/portals/example.yaml -a data_dir=data

list pages (adapter per platform) -> entries -> report titles only -> article pages (metadata,
attachments) -> documents. Every failure lands in the crawl report with its kind (the kinds:
crawlers/faults.py). The portal's ``max_requests`` / ``max_documents`` close the crawl as
``list_truncated`` and a full disk closes it as ``disk_full``, each with one log line; requests
still queued stay in the JOBDIR, so the next run resumes there.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import deferred_from_coro
from twisted.python.failure import Failure

from crawlers.adapters import ADAPTERS, sniff
from crawlers.antibot import ChallengeBlocked
from crawlers.article import attachment_extension, parse_article
from crawlers.config import load_config
from crawlers.detect import TitleVerdict, classify_title
from crawlers.faults import (
    DISK_FULL,
    IGNORED,
    LIST_TRUNCATED,
    OFFSITE_LINK,
    is_disk_full,
    kind_of,
)
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
        self.documents_fetched = 0  # downloaded whole this run (max_documents counts these)
        self.entries_queued = 0  # list entries followed this run (at most max_requests)
        self.stopping: str | None = None  # list_truncated | disk_full once the crawl closes
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
        # A resumed crawl (JOBDIR) reads again its start pages and the list pages it had not
        # finished queueing (dont_filter), going on from the entry where it stopped.
        unfinished = dict(self._unfinished_lists)
        for url in self.config.start_urls:
            bare, fragment = urldefrag(url)
            unfinished.pop(bare, None)
            request = self._request(bare, self.parse_list, meta={"fragment": fragment or None},
                                    dont_filter=True)
            if request is not None:
                yield request
        for url, fragment in unfinished.items():
            request = self._request(url, self.parse_list, meta={"fragment": fragment},
                                    dont_filter=True)
            if request is not None:
                yield request

    @property
    def _unfinished_lists(self) -> dict[str, str | None]:
        """List page URL -> fragment, for list pages whose entries were not all queued: kept in
        the JOBDIR's spider state (Scrapy saves ``self.state`` there), with the offsets."""
        return {url: saved["fragment"] for url, saved in self._list_offsets.items()}

    @property
    def _list_offsets(self) -> dict[str, dict]:
        if not hasattr(self, "state"):  # no JOBDIR: nothing to resume
            self.state: dict = {}
        return self.state.setdefault("unfinished_lists", {})

    def _request(self, url: str, callback, **kwargs: Any) -> Request | None:
        """A request, or None (recorded as ``offsite_link``) for a host outside the allow-list."""
        if urlsplit(url).hostname not in self.allowed_domains:
            self.report.error(OFFSITE_LINK, url)
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
        fragment = response.meta.get("fragment")
        requests = [self._request(url, self.parse_list, meta={"fragment": fragment})
                    for url in [*listing.next_pages, *self._subcolumns(response)]
                    if url != response.url]
        # A run queues at most max_requests (or max_documents) entries: a cap closes it by then
        # anyway. The rest of a long list waits for the next run, which reads the page again
        # and goes on from this offset.
        offset = self._list_offsets.pop(response.url, {}).get("offset", 0)
        budget = min(self.config.max_requests, self.config.max_documents)
        for position, entry in enumerate(listing.entries[offset:], start=offset):
            if self.entries_queued >= budget:
                self._list_offsets[response.url] = {"offset": position, "fragment": fragment}
                self.report.error(LIST_TRUNCATED, response.url)
                break
            followed = [r for r in self._follow_entry(entry, response.url) if r is not None]
            self.entries_queued += len(followed)
            requests.extend(followed)
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
        if not response.meta.get("unchanged"):
            self.documents_fetched += 1
            if self.documents_fetched == self.config.max_documents:
                self.stop(LIST_TRUNCATED, response.url,
                          f"max_documents ({self.config.max_documents}) reached")
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
        url = (request.meta.get("redirect_urls") or [request.url])[0]  # as the crawl asked
        if isinstance(exc, ChallengeBlocked):
            self.report.block(exc.vendor, url)
        elif isinstance(exc, HttpError):
            self.report.error(f"http_{exc.response.status}", url)
        elif (kind := kind_of(exc)) is not None:
            self.report.error(kind, url)
        elif isinstance(exc, IgnoreRequest):
            self.report.error(IGNORED, url)
        else:
            self.report.error(type(exc).__name__, url)

    # -- stopping early --------------------------------------------------------------------------
    def stop(self, kind: str, url: str, why: str) -> None:
        """Close the crawl now (once), recording ``kind`` at ``url``; queued requests stay in
        the JOBDIR for the next run."""
        self.report.error(kind, url)
        if self.stopping:
            return
        self.stopping = kind
        level = logging.ERROR if kind == DISK_FULL else logging.WARNING
        self.logger.log(level, "%s: %s: %s; the crawl stops", kind, self.config.id, why)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason=kind))

    def disk_full(self, exc: BaseException, where: str) -> None:
        """A full disk: one line, no traceback; the crawl stops."""
        detail = getattr(exc, "strerror", None) or str(exc)
        if self.stopping == DISK_FULL:
            self.report.error(DISK_FULL, where)
            return
        self.stop(DISK_FULL, where, f"{detail} while storing {where}")

    def closed(self, reason: str) -> None:
        if reason == "finished" and self._list_offsets:  # lists left for the next run: keep
            reason = LIST_TRUNCATED                       # the JOBDIR (crawlers/run.py)
        self.report.retries = int(self.crawler.stats.get_value("retry/count", 0))
        self.report.finish(reason, self.crawl_state.best_previous_count(self.config.id))
        try:
            self.crawl_state.record_crawl(self.config.id, self.report.finished_at or "",
                                          self.report.reports_found, self.report.status)
        except sqlite3.Error as exc:
            if not is_disk_full(exc):
                raise
            self.logger.error("disk_full: crawl history of %s not recorded", self.config.id)
        path = self.report.write(self.data_dir)
        self.logger.info("crawl report %s: %s (%s)", self.config.id, self.report.status, path)
        self.crawl_state.close()
