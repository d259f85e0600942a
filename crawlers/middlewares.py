"""Downloader middlewares: politeness and safety around every request.

Each takes the portal's config and state from the request (``PortalSpider.portal_of``: the
request's ``meta["portal_id"]``), since one spider crawls many portals. Requests Scrapy makes
itself (robots.txt) carry no portal.

- ``PortalGate``: a request of a portal that has stopped (its cap) or is past its deadline is
  not sent: it is kept for the portal's next run (crawlers/portal_crawl.py).
- ``RobotsTxt``: Scrapy's robots.txt handling, but a robots.txt served as an HTML page counts as
  none (logged), and a portal may opt out only with a written reason (its config).
- ``AntiBot``: challenge pages recorded as ``blocked:<vendor>``; the host gets no more requests.
- ``AllowedRedirects``: redirects off the allowed hosts refused (``offsite_redirect``), and a
  redirect back into its own chain or past REDIRECT_MAX_TIMES given up as ``redirect_loop``.
- ``Compression``: Scrapy's decompression, with a body that inflates past the size cap reported
  as ``decompression_bomb``.
- ``RequestCap``: at the portal's ``max_requests`` that portal stops as ``list_truncated``; its
  requests still queued are held for its next run. It also counts the portal's retries.
- ``RetryAfter``: a 503 with Retry-After waits that long (capped) before the retry.
- ``Conditional``: a document fetched within the portal's ``recheck_days`` is read from the raw
  store without a request; an older one gets If-None-Match / If-Modified-Since, and a 304 is
  answered from the raw store. An unchanged document is never downloaded again.
- ``Encoding``: GB-family labels decoded as gb18030; a page whose declared charset fails is
  decoded as gb18030 (the common mislabelling).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares import cookies as scrapy_cookies
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.utils._compression import _DecompressionMaxSizeExceeded
from scrapy.utils.httpobj import urlparse_cached
from tldextract import TLDExtract

from crawlers.antibot import ChallengeBlocked, challenge_vendor
from crawlers.encoding import decoded
from crawlers.faults import (
    DEADLINE,
    LIST_TRUNCATED,
    DecompressionBomb,
    OffsiteRedirect,
    RedirectLoop,
    RetryAfterTooLong,
    RobotsDisallowed,
)
from crawlers.portal_crawl import PortalCrawl, PortalStopped
from crawlers.state import Validators

logger = logging.getLogger(__name__)

# Scrapy's cookie middleware asks tldextract for public suffixes, and tldextract's default first
# downloads the Public Suffix List. Crawls must not reach anything but the portals: use the
# snapshot tldextract ships with.
scrapy_cookies._split_domain = TLDExtract(suffix_list_urls=(), include_psl_private_domains=True)

RETRY_AFTER_CAP = 120.0  # seconds; a longer wait gives the URL up for this crawl


class RobotsTxt(RobotsTxtMiddleware):
    async def process_request(self, request: Request) -> None:
        portal = _portal_of(self.crawler.spider, request)
        if portal is not None and not portal.config.obey_robots:
            return
        try:
            await super().process_request(request)
        except IgnoreRequest as exc:  # Scrapy's refusal has no kind of its own
            raise RobotsDisallowed(str(exc)) from exc

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status != 200:  # no robots.txt: everything allowed
            response = response.replace(body=b"")
        elif response.body.lstrip()[:1] == b"<":
            logger.warning("robots.txt of %s is an HTML page, not a robots file: treated as none",
                           netloc)
            self._stats.inc_value("robotstxt/served_as_html")
            response = response.replace(body=b"")
        await super()._parse_robots(response, netloc, request)


def _portal_of(spider: Spider | None, request: Request) -> PortalCrawl | None:
    portal_of = getattr(spider, "portal_of", None)  # PortalSpider's; any other spider: None
    return portal_of(request) if portal_of is not None else None


class _CrawlerAware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler):
        return cls(crawler)

    @property
    def spider(self) -> Spider:
        return self.crawler.spider

    def portal(self, request: Request) -> PortalCrawl | None:
        return _portal_of(self.crawler.spider, request)


class PortalGate(_CrawlerAware):
    """First in line: a stopped portal's request is held for its next run, not sent. The first
    request met past a portal's deadline stops it (``deadline``), so a slow portal never holds
    up the others."""

    def process_request(self, request: Request) -> None:
        portal = self.portal(request)
        if portal is None:
            return
        if portal.stopping is None and portal.past_deadline():
            minutes = portal.config.deadline_minutes
            self.spider.stop(portal, DEADLINE, request.url,
                             f"past its deadline ({portal.deadline_seconds:.0f} s; config "
                             f"deadline_minutes: {minutes:g})")
        if portal.stopping is not None:
            portal.hold(request.to_dict(spider=self.spider))
            raise PortalStopped(f"{portal.id} stopped ({portal.stopping}): held")


class AntiBot(_CrawlerAware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.blocked: dict[str, str] = {}  # host -> vendor

    def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname or ""
        if host in self.blocked:
            raise ChallengeBlocked(self.blocked[host], request.url)

    def process_response(self, request: Request, response: Response) -> Response:
        vendor = challenge_vendor(response)
        if vendor is None:
            return response
        host = urlparse_cached(request).hostname or ""
        self.blocked[host] = vendor
        self.crawler.stats.inc_value(f"nianbao/blocked/{vendor}")
        raise ChallengeBlocked(vendor, request.url)


class AllowedRedirects(_CrawlerAware):
    """Refuse redirects that leave the allowed hosts, naming them (Scrapy would drop them
    silently after following), and redirect loops: Scrapy's duplicate filter would drop the
    hop back to a URL already seen without a word, and the page would simply be missing."""

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        if response.status not in (301, 302, 303, 307, 308) or not location:
            return response
        target = urlsplit(response.urljoin(location.decode("latin-1")))
        portal = self.portal(request)
        allowed = (portal.config.allows if portal is not None
                   else getattr(self.spider, "allows_any", lambda url: True))
        if target.hostname and not allowed(target.geturl()):
            raise OffsiteRedirect(f"{request.url} -> {target.geturl()}")
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target.geturl() in chain or len(chain) > self.crawler.settings.getint(
                "REDIRECT_MAX_TIMES"):
            raise RedirectLoop(f"{chain[0]}: {len(chain)} redirects, then {target.geturl()}")
        return response


class Compression(HttpCompressionMiddleware):
    """Scrapy's decompression; a body inflating past DOWNLOAD_MAXSIZE is a ``decompression_bomb``
    (Scrapy stops inflating at the cap, so the bomb never fills memory)."""

    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            if isinstance(exc.__cause__, _DecompressionMaxSizeExceeded):
                raise DecompressionBomb(str(exc)) from exc
            raise


class RequestCap(_CrawlerAware):
    """Counts each portal's requests that reach the network (a copy read from the raw store does
    not); the one that reaches its ``max_requests`` stops that portal as ``list_truncated``.
    Requests already handed to the downloader still finish (at most CONCURRENT_REQUESTS more),
    and what they find is held with the rest, for the next run. A retried request is counted
    as a retry of its portal."""

    def process_request(self, request: Request) -> None:
        portal = self.portal(request)
        if portal is None:
            return
        if request.meta.get("retry_times"):
            self.spider.count(portal, "retries")
        portal.requests_sent += 1
        if portal.requests_sent == portal.config.max_requests:
            self.spider.stop(portal, LIST_TRUNCATED, request.url,
                             f"max_requests ({portal.config.max_requests}) reached")


class RetryAfter:
    async def process_response(self, request: Request, response: Response) -> Response:
        if response.status != 503 or b"Retry-After" not in response.headers:
            return response
        try:
            wait = float(response.headers[b"Retry-After"].decode())
        except ValueError:
            return response  # an HTTP date: let the ordinary retry back-off handle it
        if wait > RETRY_AFTER_CAP:
            raise RetryAfterTooLong(f"{wait:.0f} s at {request.url}")
        await asyncio.sleep(wait)
        return response  # RetryMiddleware, next in line, retries it now


class Conditional(_CrawlerAware):
    def process_request(self, request: Request) -> Response | None:
        portal = self.portal(request)
        if (portal is None or not request.meta.get("conditional")
                or request.meta.get("unconditional")):
            return None
        known = self.spider.crawl_state.validators(request.url)
        if known is None or not self.spider.store.has(known.sha256):
            return None
        if _age_days(known.fetched_at) < portal.recheck_days:  # seen lately: no request
            request.meta["not_requested"] = True
            return self._stored(request, request.url, known)
        if known.etag:
            request.headers[b"If-None-Match"] = known.etag
        if known.last_modified:
            request.headers[b"If-Modified-Since"] = known.last_modified

    def process_response(self, request: Request, response: Response) -> Response | Request:
        if response.status != 304 or not request.meta.get("conditional"):
            return response
        known = self.spider.crawl_state.validators(request.url)
        if known is None or not self.spider.store.has(known.sha256):  # lost: fetch it whole
            return request.replace(meta={**request.meta, "unconditional": True}, dont_filter=True)
        return self._stored(request, response.url, known)

    def _stored(self, request: Request, url: str, known: Validators) -> Response:
        """The stored copy, answering for the server (a 304, or no request at all)."""
        request.meta["unchanged"] = True
        # The validators travel along, so a 304 refreshes when the copy was last confirmed.
        headers = {name: value for name, value in (("Content-Type", known.content_type),
                                                   ("ETag", known.etag),
                                                   ("Last-Modified", known.last_modified)) if value}
        cls = HtmlResponse if "html" in (known.content_type or "") else Response
        return cls(url=url, status=200, headers=headers, body=self.spider.store.read(known.sha256),
                   request=request, flags=["stored"])


def _age_days(fetched_at: str | None) -> float:
    if not fetched_at:
        return float("inf")
    return (datetime.now(UTC) - datetime.fromisoformat(fetched_at)).total_seconds() / 86400


class Encoding(_CrawlerAware):
    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, TextResponse):
            return response
        portal = self.portal(request)
        forced = portal.config.encoding if portal is not None else None
        response, mislabelled = decoded(response, forced)
        if mislabelled:
            self.crawler.stats.inc_value("nianbao/encoding_mislabelled")
            logger.info("%s is gb18030, not what it declares", response.url)
        return response
