"""The one spider: portal configs in, report pages and attachments into the raw store.

    scrapy crawl portal -a config=crawlers/portals/example.yaml -a data_dir=data

One spider (one Scrapy engine) crawls many portals at once (crawlers/run.py hands it a list of
configs), the way Scrapy's broad-crawl guidance has it: a download slot per host with the
portal's own delay, one request in flight per host, a priority queue that keeps every slot busy.
Each portal's state (config, crawl report, list offsets, stop) is a ``PortalCrawl``
(crawlers/portal_crawl.py) found from ``request.meta["portal_id"]``; its crawl report's counters
(pages, reports, documents new/unchanged, decoys, retries) are kept in Scrapy's stats collector
while the crawl runs (``count``) and read into the report when it closes.

list pages (adapter per platform) -> entries -> report titles only -> article pages (metadata,
attachments) -> documents, yielded as ``FetchedDocument`` items (crawlers/items.py) to the
raw-store pipeline. Every failure lands in its portal's crawl report with its kind (the
kinds: crawlers/faults.py). A portal's ``max_requests`` / ``max_documents`` stop it as
``list_truncated``, its ``deadline_minutes`` as ``deadline``: that portal only, its unsent
requests kept for its next run. A full disk stops the whole crawl as ``disk_full``; requests
still queued stay in the JOBDIR, so the next run resumes there.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.request import request_from_dict
from twisted.python.failure import Failure

from crawlers.adapters import ADAPTERS, sniff
from crawlers.antibot import ChallengeBlocked
from crawlers.article import attachment_extension, parse_article
from crawlers.config import PortalConfig, load_config
from crawlers.detect import TitleVerdict, classify_title
from crawlers.faults import (
    DISK_FULL,
    IGNORED,
    LIST_TRUNCATED,
    OFFSITE_LINK,
    is_disk_full,
    kind_of,
)
from crawlers.items import DocumentSink, FetchedDocument
from crawlers.portal_crawl import MIN_DELAY, PortalCrawl, PortalStopped
from crawlers.rawstore import RawStore
from crawlers.report import counter_key
from crawlers.selectors import LayoutChanged
from crawlers.state import CrawlState

# "404" as a word of the page's text (not the digits of t20240110_104040.html or 第404号).
_SOFT_404 = re.compile(r"页面不存在|页面未找到|找不到(该|此)?页面|已被删除|Page Not Found"
                       r"|(?<!\w)404(?!\w)|404\s*(错误|Not\s*Found)|错误\s*404", re.IGNORECASE)
SOFT_404_MAX_BYTES = 4096
_COLUMN_PAGE = re.compile(r"(/|/index\.s?html?)$")


def recorded(callback):
    """A callback of one portal's response: called with that portal's state, and an unexpected
    exception lands in its crawl report (and the crawl goes on)."""

    @functools.wraps(callback)
    def wrapper(self, response: Response):
        portal = self.portals[response.meta["portal_id"]]
        try:
            yield from callback(self, response, portal)
        except Exception as exc:  # noqa: BLE001 - any parser bug on one page is that page's error
            portal.report.error(f"spider_error:{type(exc).__name__}", f"{response.url}: {exc}")
            self.logger.exception("error processing %s", response.url)

    return wrapper


def is_soft_404(response: Response) -> bool:
    """A 200 answer that is really 'page not found' (small, and says so)."""
    if not isinstance(response, TextResponse) or len(response.body) >= SOFT_404_MAX_BYTES:
        return False
    text = (" ".join(response.xpath("//body//text()").getall())
            if isinstance(response, HtmlResponse) else response.text)
    return bool(_SOFT_404.search(text))


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(self, config: str | None = None, data_dir: str = "data",
                 delay: str | float | None = None, recheck_days: str | float | None = None,
                 configs: Sequence[PortalConfig] = (), portal_deadline: str | float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        loaded = list(configs) or ([load_config(Path(config))] if config else [])
        if not loaded:
            raise ValueError("PortalSpider needs config=FILE (or configs=[...])")
        self.data_dir = Path(data_dir)
        self.store = RawStore(self.data_dir)
        self.crawl_state = CrawlState(self.data_dir)
        self.crawl_reason: str | None = None  # disk_full once the whole crawl stops
        self._disk_full_at = str(self.data_dir)  # where the disk filled up, once it did
        self.close_reason: str | None = None  # Scrapy's, once the spider closed
        started = time.monotonic()
        self.portals: dict[str, PortalCrawl] = {}
        for portal_config in loaded:
            deadline = (float(portal_deadline) if portal_deadline is not None
                        else portal_config.deadline_minutes * 60)
            self.portals[portal_config.id] = PortalCrawl(
                portal_config,
                delay=float(delay) if delay is not None else portal_config.delay,
                recheck_days=(float(recheck_days) if recheck_days is not None
                              else portal_config.recheck_days),
                started=started, deadline=started + deadline)
        self._slot_hosts: set[str] = set()  # hosts whose download slot settings are known
        self._jobdir_resumed = False

    def portal_of(self, request: Request) -> PortalCrawl | None:
        """The portal a request (or its response's request) belongs to; None for requests
        Scrapy makes itself (robots.txt)."""
        portal_id = request.meta.get("portal_id")
        return self.portals.get(portal_id) if portal_id is not None else None

    def count(self, portal: PortalCrawl, counter: str) -> None:
        """One more of a crawl report counter (crawlers/report.py COUNTERS), in Scrapy's stats."""
        self.crawler.stats.inc_value(counter_key(portal.id, counter))

    def document_sink(self) -> DocumentSink:
        """What the raw-store pipeline is handed: the store, the crawl state, and the way to
        report a full disk."""
        return DocumentSink(
            store=self.store, crawl_state=self.crawl_state,
            disk_full=lambda exc, url, portal_id: self.disk_full(exc, url,
                                                                 self.portals[portal_id]),
            stopped_by_full_disk=lambda: self.crawl_reason == DISK_FULL)

    def allows_any(self, url: str) -> bool:
        return any(p.config.allows(url) for p in self.portals.values())

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # One download slot per host, with the delay of the portal it belongs to (settings
        # freeze after from_crawler; hosts met later are added as requests name them). Enough
        # concurrency for every host to have one request in flight and one waiting.
        portals = list(spider.portals.values())
        slots = {host: p.slot_settings() for p in reversed(portals) for host in p.config.hosts}
        spider._slot_hosts.update(slots)
        settings = crawler.settings
        # A JOBDIR that comes back (after a clean stop) remembers the requests it saw queued.
        job = settings.get("JOBDIR")
        spider._jobdir_resumed = bool(job) and Path(job, "requests.seen").exists()
        settings.set("DOWNLOAD_SLOTS", slots, priority="spider")
        settings.set("CONCURRENT_REQUESTS", max(16, 2 * len(slots)), priority="spider")
        # Defaults for requests that carry no portal (robots.txt): the most lenient portal's.
        settings.set("DOWNLOAD_TIMEOUT", max(p.config.timeout for p in portals), priority="spider")
        settings.set("DOWNLOAD_MAXSIZE", max(p.config.max_download_mb for p in portals)
                     * 1024 * 1024, priority="spider")
        floor = min(p.delay for p in portals)
        settings.set("DOWNLOAD_DELAY", max(floor, MIN_DELAY), priority="spider")
        settings.set("AUTOTHROTTLE_START_DELAY", floor, priority="spider")
        if all(p.delay == 0 for p in portals):
            settings.set("AUTOTHROTTLE_ENABLED", False, priority="spider")
        return spider

    async def start(self) -> AsyncIterator[Request]:
        # Every portal's start pages, then what its previous run left: the list pages it had not
        # finished queueing (going on from the entry where it stopped) and the requests it held
        # back. Those pass the duplicate filter, so a copy found again on the way is fetched
        # once - unless the JOBDIR came back, whose filter saw them queued last time.
        for portal in self.portals.values():
            portal.load_resume(self.data_dir)
            unfinished = {url: saved.get("fragment") for url, saved in portal.list_offsets.items()}
            for url in portal.config.start_urls:
                bare, fragment = urldefrag(url)
                unfinished.pop(bare, None)
                request = self._request(portal, bare, self.parse_list,
                                        meta={"fragment": fragment or None}, dont_filter=True)
                if request is not None:
                    yield request
            for url, fragment in unfinished.items():
                request = self._request(portal, url, self.parse_list,
                                        meta={"fragment": fragment}, dont_filter=True)
                if request is not None:
                    yield request
            for saved in portal.resumed_requests():
                try:
                    request = request_from_dict(saved, spider=self)
                except (ValueError, KeyError, AttributeError) as exc:
                    self.logger.warning("%s: a held request could not be restored (%s)",
                                        portal.id, exc)
                    continue
                yield request.replace(dont_filter=self._jobdir_resumed)

    def _request(self, portal: PortalCrawl, url: str, callback, meta: dict | None = None,
                 **kwargs: Any) -> Request | None:
        """A request of ``portal``, or None (recorded as ``offsite_link``) for a host outside
        its allowed hosts."""
        if not portal.config.allows(url):
            portal.report.error(OFFSITE_LINK, url)
            return None
        host = urlsplit(url).hostname or ""
        engine = getattr(getattr(self, "crawler", None), "engine", None)
        if host not in self._slot_hosts and engine is not None:
            # A subdomain: a download slot of its own, with the portal's politeness.
            self._slot_hosts.add(host)
            engine.downloader.per_slot_settings.setdefault(host, portal.slot_settings())
        meta = {**(meta or {}), "portal_id": portal.id, "download_timeout": portal.config.timeout,
                "download_maxsize": portal.config.max_download_mb * 1024 * 1024}
        return Request(url, callback=callback, errback=self.on_error, meta=meta, **kwargs)

    # -- list pages ------------------------------------------------------------------------------
    @recorded
    def parse_list(self, response: Response, portal: PortalCrawl) -> Iterator[Request]:
        self.count(portal, "pages_fetched")
        if not isinstance(response, TextResponse) or is_soft_404(response):
            portal.report.error("soft_404" if is_soft_404(response) else "not_a_list_page",
                                response.url)
            return
        config = portal.config
        platform = config.platform if config.platform != "auto" else sniff(response)
        try:
            listing = ADAPTERS[platform].parse_list(response, config)
        except LayoutChanged as exc:
            portal.report.error("layout_changed", f"{response.url}: {exc}")
            self.logger.error("layout changed: %s", exc)
            return
        fragment = response.meta.get("fragment")
        requests = [self._request(portal, url, self.parse_list, meta={"fragment": fragment})
                    for url in [*listing.next_pages, *self._subcolumns(portal, response)]
                    if url != response.url]
        # A run queues at most max_requests (or max_documents) entries: a cap stops the portal
        # by then anyway. The rest of a long list waits for the next run, which reads the page
        # again and goes on from this offset.
        offset = portal.list_offsets.pop(response.url, {}).get("offset", 0)
        budget = min(config.max_requests, config.max_documents)
        for position, entry in enumerate(listing.entries[offset:], start=offset):
            if portal.entries_queued >= budget:
                portal.list_offsets[response.url] = {"offset": position, "fragment": fragment}
                portal.report.error(LIST_TRUNCATED, response.url)
                break
            followed = [r for r in self._follow_entry(portal, entry, response.url)
                        if r is not None]
            portal.entries_queued += len(followed)
            requests.extend(followed)
        yield from (r for r in requests if r is not None)

    def _subcolumns(self, portal: PortalCrawl, response: TextResponse) -> list[str]:
        """Tier and year sub-columns (部门 / 镇街 / 2021年) below a start URL's folder: links to a
        folder or its index page, deeper than the page itself (a column never leaks upwards)."""
        if not isinstance(response, HtmlResponse):
            return []
        here = urlsplit(response.url).path.rsplit("/", 1)[0] + "/"
        found = []
        for href in response.css("a::attr(href)").getall():
            url = urldefrag(response.urljoin(href.strip()))[0]
            folder = urlsplit(url).path.rsplit("/", 1)[0] + "/"
            if (folder != here and folder.startswith(here) and _COLUMN_PAGE.search(
                    urlsplit(url).path) and any(folder.startswith(p) for p in portal.start_folders)
                    and portal.config.allows(url)):
                found.append(url)
        return found

    def _follow_entry(self, portal: PortalCrawl, entry, list_url: str) -> Iterator[Request | None]:
        config = portal.config
        verdict = classify_title(entry.title, config.include, config.exclude)
        if entry.title and not verdict.is_report:
            self.count(portal, "decoys_skipped")
            return
        meta = {"conditional": True, "list_title": entry.title, "list_date": entry.date}
        if attachment_extension(entry.url):  # a list row linking straight to the document
            self._count_report(portal, entry.url)
            yield self._request(portal, entry.url, self.save_attachment, meta={
                **meta, "page": {"url": list_url, "title": entry.title, "date": entry.date},
                "verdict": verdict, "name": entry.title})
        else:
            yield self._request(portal, entry.url, self.parse_article, meta=meta)

    # -- article pages ---------------------------------------------------------------------------
    @recorded
    def parse_article(self, response: Response,
                      portal: PortalCrawl) -> Iterator[Request | FetchedDocument]:
        self.count(portal, "pages_fetched")
        if not isinstance(response, TextResponse) or is_soft_404(response):
            portal.report.error("soft_404", response.url)
            return
        article = parse_article(response.text, response.url)
        title = article.title or response.meta.get("list_title")
        verdict = classify_title(title, portal.config.include, portal.config.exclude)
        if not verdict.is_report:
            self.count(portal, "decoys_skipped")
            return
        self._count_report(portal, response.url)
        page = {"url": response.url, "title": title,
                "date": article.publish_date or response.meta.get("list_date"),
                "publisher": article.publisher, "index_number": article.index_number}
        yield self._item(portal, response, "page", page, verdict)
        for attachment in article.attachments:
            request = self._request(portal, attachment.url, self.save_attachment, meta={
                "conditional": True, "page": page, "verdict": verdict, "name": attachment.name})
            if request is not None:
                yield request
        for image in article.images:  # a 图片版 report's tables, stored as kind "image"
            request = self._request(portal, image.url, self.save_attachment, meta={
                "conditional": True, "page": page, "verdict": verdict, "name": image.name,
                "kind": "image"})
            if request is not None:
                yield request

    @recorded
    def save_attachment(self, response: Response,
                        portal: PortalCrawl) -> Iterator[FetchedDocument]:
        if is_soft_404(response):
            portal.report.error("soft_404", response.url)
            return
        yield self._item(portal, response, response.meta.get("kind", "attachment"),
                         response.meta["page"], response.meta["verdict"],
                         name=response.meta.get("name"))

    def _count_report(self, portal: PortalCrawl, url: str) -> None:
        if url not in portal.reports_seen:
            portal.reports_seen.add(url)
            self.count(portal, "reports_found")

    def _item(self, portal: PortalCrawl, response: Response, kind: str, page: dict,
              verdict: TitleVerdict, name: str | None = None) -> FetchedDocument:
        config = portal.config
        if not response.meta.get("unchanged"):
            portal.documents_fetched += 1
            if portal.documents_fetched == config.max_documents:
                self.stop(portal, LIST_TRUNCATED, response.url,
                          f"max_documents ({config.max_documents}) reached")
        return FetchedDocument.of_response(response, config, kind, page, verdict, name)

    # -- failures --------------------------------------------------------------------------------
    def on_error(self, failure: Failure) -> None:
        request = failure.request
        exc = failure.value
        portal = self.portal_of(request)
        if portal is None or isinstance(exc, PortalStopped):  # held for the portal's next run
            return
        url = (request.meta.get("redirect_urls") or [request.url])[0]  # as the crawl asked
        if isinstance(exc, ChallengeBlocked):
            portal.report.block(exc.vendor, url)
        elif isinstance(exc, HttpError):
            portal.report.error(f"http_{exc.response.status}", url)
        elif (kind := kind_of(exc)) is not None:
            portal.report.error(kind, url)
        elif isinstance(exc, IgnoreRequest):
            portal.report.error(IGNORED, url)
        else:
            portal.report.error(type(exc).__name__, url)

    # -- stopping early --------------------------------------------------------------------------
    def stop(self, portal: PortalCrawl, kind: str, url: str, why: str) -> None:
        """Stop one portal now (once), recording ``kind`` at ``url``: its requests still to be
        sent are held for its next run (crawlers/middlewares.py PortalGate); the others go on."""
        portal.report.error(kind, url)
        if portal.stop(kind):
            self.logger.warning("%s: %s: %s; the portal stops, the others go on", kind,
                                portal.id, why)

    def disk_full(self, exc: BaseException, where: str, portal: PortalCrawl | None = None) -> None:
        """A full disk: one line, no traceback; the whole crawl stops."""
        for each in ([portal] if portal is not None else []):
            each.report.error(DISK_FULL, where)
        if self.crawl_reason == DISK_FULL:
            return
        self.crawl_reason = DISK_FULL
        self._disk_full_at = where
        detail = getattr(exc, "strerror", None) or str(exc)
        self.logger.error("disk_full: %s while storing %s; the crawl stops", detail, where)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason=DISK_FULL))

    def closed(self, reason: str) -> None:
        self.close_reason = reason
        for portal in self.portals.values():
            self._close_portal(portal, reason)
        self.crawl_state.close()

    def _close_portal(self, portal: PortalCrawl, crawl_reason: str) -> None:
        report = portal.report
        report.read_counters(self.crawler.stats)
        reason = portal.finish_reason(crawl_reason)
        if reason == DISK_FULL and DISK_FULL not in report.errors:  # stopped with the crawl
            report.error(DISK_FULL, self._disk_full_at)
        report.finish(reason, self.crawl_state.best_previous_count(portal.id))
        try:
            self.crawl_state.record_crawl(portal.id, report.finished_at or "",
                                          report.reports_found, report.status)
        except sqlite3.Error as exc:
            if not is_disk_full(exc):
                raise
            self.logger.error("disk_full: crawl history of %s not recorded", portal.id)
        portal.save_resume(self.data_dir)
        path = report.write(self.data_dir)
        self.logger.info("crawl report %s: %s (%s)", portal.id, report.status, path)
