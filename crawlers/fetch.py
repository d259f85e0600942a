"""A small synchronous, polite page fetcher for the commands that look at a few pages by hand
(``nianbao discover``, ``nianbao try``), where a Scrapy engine would be overkill.

Polite as the crawler is: the project's User-Agent, robots.txt obeyed (a robots.txt served as
an HTML page counts as none, as in crawlers/middlewares.py), a delay between requests to one
host, only the allowed hosts (redirects included), a size cap. Answers come back as Scrapy
responses, so the adapters, the sniffer and the challenge detector read them unchanged; a
challenge page raises ``FetchFailed`` of kind ``blocked``. Nothing is written anywhere.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin, urlsplit

from protego import Protego
from scrapy.http import Headers, Request, Response, TextResponse
from scrapy.responsetypes import responsetypes

from crawlers.antibot import challenge_vendor
from crawlers.config import on_hosts
from crawlers.encoding import decoded
from crawlers.settings import USER_AGENT

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# The decoding rule of crawlers/middlewares.Encoding, copied (that module runs inside Scrapy's
# engine): GB-family labels mean gb18030; a page whose declared charset fails is gb18030.


class FetchFailed(Exception):
    """A page that could not be had; ``kind`` says why (blocked, robots_disallowed, offsite,
    http_<status>, connection, too_large)."""

    def __init__(self, kind: str, url: str, detail: str = "") -> None:
        super().__init__(f"{url}: {detail or kind}")
        self.kind = kind
        self.url = url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by the fetcher itself, so each hop is checked against the hosts."""

    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003 - urllib's signature
        return None


@dataclass
class PoliteFetcher:
    """GET pages of ``hosts`` (and their subdomains) one at a time, ``delay`` seconds apart
    per host."""

    hosts: tuple[str, ...]
    delay: float = 2.0  # seconds, as the crawler (crawlers/settings.py DOWNLOAD_DELAY)
    timeout: float = 30.0
    obey_robots: bool = True
    encoding: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    max_redirects: int = 5
    requests: int = 0  # sent so far (robots.txt included)
    _robots: dict[str, Protego | None] = field(default_factory=dict)
    _last: dict[str, float] = field(default_factory=dict)
    _blocked: dict[str, str] = field(default_factory=dict)  # host -> challenge vendor

    def __post_init__(self) -> None:
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)

    def get(self, url: str) -> Response:
        """The page at ``url`` (its #fragment kept in ``response.meta['fragment']``)."""
        bare, fragment = urldefrag(url)
        for _ in range(self.max_redirects + 1):
            self._check(bare)
            status, headers, body = self._send(bare)
            location = headers.get("Location")
            if status in (301, 302, 303, 307, 308) and location:
                bare = urldefrag(urljoin(bare, location.decode("latin-1")))[0]
                continue
            return self._response(bare, status, headers, body, fragment)
        raise FetchFailed("redirect_loop", url, f"more than {self.max_redirects} redirects")

    def _check(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            parts.hostname  # noqa: B018 -- raises ValueError for a malformed host ("http://[x")
        except ValueError as exc:
            raise FetchFailed("bad_url", url, str(exc)) from exc
        if parts.scheme not in ("http", "https") or not on_hosts(url, self.hosts):
            raise FetchFailed("offsite", url, f"not on {', '.join(self.hosts)}")
        if parts.netloc in self._blocked:  # no second request to a host that challenged us
            raise FetchFailed("blocked", url, f"a {self._blocked[parts.netloc]} challenge page, "
                                              "not the content")
        if self.obey_robots and not self._allowed_by_robots(url):
            raise FetchFailed("robots_disallowed", url, "robots.txt disallows it")

    def _allowed_by_robots(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            try:
                status, headers, body = self._send(origin + "/robots.txt")
            except FetchFailed:
                status, headers, body = 0, Headers(), b""
            self._challenged(Response(origin + "/robots.txt", status=status, headers=headers,
                                      body=body))
            # No robots.txt, an error, or the site's HTML error page served as one: no rules.
            usable = status == 200 and body.lstrip()[:1] != b"<"
            text = body.decode("utf-8", "replace")
            self._robots[origin] = Protego.parse(text) if usable else None
        rules = self._robots[origin]
        return rules is None or rules.can_fetch(url, USER_AGENT)

    def _send(self, url: str) -> tuple[int, Headers, bytes]:
        host = urlsplit(url).netloc
        wait = self._last.get(host, float("-inf")) + self.delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                                       "Accept": "text/html,application/json,*/*"})
        self.requests += 1
        try:
            try:
                answer = self._opener.open(request, timeout=self.timeout)
            except urllib.error.HTTPError as error:  # 4xx/5xx still carry a body (challenges do)
                answer = error
            with answer:
                body = answer.read(self.max_bytes + 1)
                status, raw_headers = answer.status, answer.headers
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            kind = "timeout" if isinstance(reason, TimeoutError) else "connection"
            raise FetchFailed(kind, url, f"{reason or type(reason).__name__}") from exc
        finally:
            self._last[host] = time.monotonic()
        if len(body) > self.max_bytes:
            raise FetchFailed("too_large", url, f"over {self.max_bytes} bytes")
        headers = Headers()
        for name, value in raw_headers.items():
            headers.appendlist(name, value.encode("latin-1", "replace"))
        return status, headers, body

    def _response(self, url: str, status: int, headers: Headers, body: bytes,
                  fragment: str) -> Response:
        cls = responsetypes.from_args(headers=headers, url=url, body=body)
        request = Request(url, meta={"fragment": fragment or None})
        response = cls(url=url, status=status, headers=headers, body=body, request=request)
        self._challenged(response)
        if status >= 400:
            raise FetchFailed(f"http_{status}", url, f"HTTP {status}")
        return decoded(response, self.encoding)[0] if isinstance(response, TextResponse) \
            else response

    def _challenged(self, response: Response) -> None:
        """FetchFailed(blocked) for a challenge page; its host gets no further request."""
        vendor = challenge_vendor(response)
        if vendor is not None:
            self._blocked[urlsplit(response.url).netloc] = vendor
            raise FetchFailed("blocked", response.url,
                              f"a {vendor} challenge page, not the content")
