"""HTTP machinery of the test portal: one real server per site, one shared request log.

Each site is its own ``ThreadingHTTPServer`` on its own loopback address (127.0.0.x), so the
crawler sees genuinely different hosts: allow-lists, per-host politeness and robots.txt all work
as they would on the real web. Every site listens on the same port, chosen at start.

Sites are declarative (``SiteSpec``: a routes table plus what the site publishes); this module
knows nothing about any one site.
"""

from __future__ import annotations

import email.utils
import hashlib
import re
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qsl, urlsplit

from tests.portal.content import Article

# Request headers worth keeping in the log (what a polite, incremental crawler sends).
LOGGED_HEADERS = ("Host", "User-Agent", "Referer", "Cookie", "If-None-Match", "If-Modified-Since",
                  "Content-Type", "X-Requested-With", "Accept", "Accept-Encoding")


# -- the request log ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    """One request a site received: what was asked, what was answered, and when."""

    site: str
    host: str  # "127.0.0.11:PORT"
    method: str
    path: str  # path and query, as sent
    headers: dict[str, str]
    status: int
    start: float  # time.monotonic() when the handler got the request
    end: float  # ... when the answer was ready, just before its bytes went out (after any delay)


class RequestLog:
    """Thread-safe list of every request, so tests can assert how the crawler behaved."""

    def __init__(self) -> None:
        self._hits: list[Hit] = []
        self._lock = threading.Lock()

    def add(self, hit: Hit) -> None:
        with self._lock:
            self._hits.append(hit)

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()

    def hits(self, site: str | None = None) -> list[Hit]:
        with self._lock:
            return [h for h in self._hits if site is None or h.site == site]

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits())

    def __len__(self) -> int:
        return len(self.hits())

    def paths(self, site: str) -> list[str]:
        return [h.path for h in self.hits(site)]

    def count(self, site: str, path: str) -> int:
        """How often ``path`` (with or without its query) was requested from ``site``."""
        return sum(1 for h in self.hits(site) if h.path == path or h.path.split("?")[0] == path)

    def sites(self) -> set[str]:
        return {h.site for h in self.hits()}

    def max_in_flight(self, site: str) -> int:
        """The most requests ``site`` was serving at one moment (politeness: should be 1)."""
        hits = self.hits(site)
        # Sorted by time; at the same instant an end (-1) comes before a start (+1).
        events = sorted([(h.start, 1) for h in hits] + [(h.end, -1) for h in hits])
        current = peak = 0
        for _, step in events:
            current += step
            peak = max(peak, current)
        return peak


# -- requests and responses as handlers see them -------------------------------------------------

@dataclass
class Request:
    method: str
    path: str  # the path only, percent-encoded as sent
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    seen: int  # earlier requests for this path since start/reset (stateful routes use it)
    portal: Portal

    @property
    def form(self) -> dict[str, str]:
        """Query parameters overlaid with a urlencoded POST body (dataproxy.jsp reads both)."""
        merged = dict(self.query)
        if self.body:
            merged.update(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        return merged

    def url(self, site: str, path: str = "") -> str:
        """Absolute URL of ``path`` on another site of the portal (only list pages and redirects
        use this: report pages and attachments stay port-independent so their sha256 is fixed)."""
        return self.portal.url(site, path)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0  # seconds before the first byte (the slow page)
    # Set for static pages and files: adds ETag / Last-Modified and answers conditionals with 304.
    modified: date | datetime | None = None


Handler = Callable[[Request, re.Match], Response]


@dataclass(frozen=True)
class Route:
    pattern: str  # a regex the whole path must match
    handler: Handler
    methods: tuple[str, ...] = ("GET", "HEAD")


@dataclass(frozen=True)
class SiteSpec:
    """One site: where it listens, what it serves, and (for expected.py) what it publishes."""

    name: str
    address: str
    portal_id: str
    agency: str
    start: str  # start URL path (may carry a #fragment, as gkmlpt's does)
    family: str  # the platform family a sniffer should recognise
    routes: tuple[Route, ...]
    articles: tuple[Article, ...] = ()
    render: Callable[[Article], bytes] | None = None  # an article's page bytes
    disallowed: tuple[str, ...] = ()  # robots.txt Disallow prefixes
    blocked: str | None = None  # the challenge vendor when every page is a challenge
    server: str = "nginx"


# -- response helpers ----------------------------------------------------------------------------

def html(text: str, *, modified: date | datetime | None = None) -> Response:
    """A UTF-8 HTML page (the GBK site builds its own responses)."""
    return Response(200, text.encode(), "text/html; charset=utf-8", modified=modified)


def file(data: bytes, content_type: str, *, modified: date | datetime,
         headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(200, data, content_type, list(headers or []), modified=modified)


def redirect(location: str, status: int = 302) -> Response:
    return Response(status, b"", None, [("Location", location)])


def not_found() -> Response:
    return Response(404, b"<html><head><title>404 Not Found</title></head><body><center><h1>"
                         b"404 Not Found</h1></center><hr><center>nginx</center></body></html>")


def _http_date(moment: date | datetime) -> str:
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, dtime(9, 0), UTC)
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


def _not_modified(headers: Message, etag: str, modified: str) -> bool:
    """RFC 9110: If-None-Match decides when present; else If-Modified-Since."""
    match = headers.get("If-None-Match")
    if match is not None:
        return match.strip() == "*" or etag in [t.strip() for t in match.split(",")]
    since = headers.get("If-Modified-Since")
    if since:
        try:
            return email.utils.parsedate_to_datetime(since) >= email.utils.parsedate_to_datetime(
                modified)
        except (TypeError, ValueError):
            return False
    return False


# -- the servers ---------------------------------------------------------------------------------

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stopping must not wait for the slow page's sleeping thread


def _handler_class(site: SiteSpec, portal: Portal) -> type[BaseHTTPRequestHandler]:
    routes = [(re.compile(r.pattern), r) for r in site.routes]

    class SiteHandler(BaseHTTPRequestHandler):
        server_version = site.server

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the request log is the record

        def do_GET(self) -> None:
            self._serve()

        do_HEAD = do_POST = do_GET

        def _serve(self) -> None:
            start = time.monotonic()
            try:
                response = self._dispatch()
            except Exception:  # noqa: BLE001 - a bug in a site module: say so loudly, answer 500
                traceback.print_exc(file=sys.stderr)
                response = Response(500, b"fixture error", "text/plain")
            if response.delay:
                time.sleep(response.delay)
            status, headers, body = self._finish(response)
            # Logged before the bytes go out: once a client has its answer, the log has the hit,
            # and a request the client sends next always starts after this one's end.
            wanted = {k: v for k in LOGGED_HEADERS if (v := self.headers.get(k)) is not None}
            portal.log.add(Hit(site.name, self.headers.get("Host", ""), self.command, self.path,
                               wanted, status, start, time.monotonic()))
            try:
                self._write(status, headers, body, response.content_type)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. on the slow page)

        def _dispatch(self) -> Response:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items()}
            request = Request(self.command, parts.path,
                              dict(parse_qsl(parts.query, keep_blank_values=True)), headers, body,
                              portal._next_seen(site.name, parts.path), portal)
            for pattern, route in routes:
                match = pattern.fullmatch(parts.path)
                if match:
                    if self.command not in route.methods:
                        return Response(405, b"method not allowed", "text/plain")
                    return route.handler(request, match)
            return not_found()

        def _finish(self, response: Response) -> tuple[int, list[tuple[str, str]], bytes]:
            """Status, headers and body to send: validators added, conditionals answered."""
            headers, body, status = list(response.headers), response.body, response.status
            if response.modified is not None and status == 200:
                etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
                modified = _http_date(response.modified)
                headers += [("ETag", etag), ("Last-Modified", modified)]
                if _not_modified(self.headers, etag, modified):
                    status, body = 304, b""
            return status, headers, body

        def _write(self, status: int, headers: list[tuple[str, str]], body: bytes,
                   content_type: str | None) -> None:
            self.send_response_only(status)
            if "server" not in {name.lower() for name, _ in headers}:
                self.send_header("Server", site.server)
            self.send_header("Date", self.date_time_string())
            if content_type and status != 304:
                self.send_header("Content-Type", content_type)
            for name, value in headers:
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and status != 304:
                self.wfile.write(body)
            self.wfile.flush()

    return SiteHandler


class Portal:
    """All sites, started together on one port; ``log`` records every request any of them got."""

    def __init__(self, sites: list[SiteSpec]) -> None:
        self.sites = {s.name: s for s in sites}
        self.log = RequestLog()
        self.port = 0
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._seen: Counter[tuple[str, str]] = Counter()
        self._seen_lock = threading.Lock()

    def start(self, port: int = 0, attempts: int = 20) -> Portal:
        """Bind every site to ``port`` (0: the first port free on all their addresses)."""
        for _ in range(1 if port else attempts):
            try:
                self._bind(port)
                break
            except OSError:
                self._close()
                if port:
                    raise
        else:
            raise OSError("no port free on every site address")
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"portal-{server.server_address[0]}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _bind(self, port: int) -> None:
        for site in self.sites.values():
            server = _Server((site.address, port), _handler_class(site, self))
            self._servers.append(server)
            port = server.server_address[1]
        self.port = port

    def _close(self) -> None:
        for server in self._servers:
            server.server_close()
        self._servers.clear()

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
        self._close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def reset(self) -> None:
        """Forget the log and every stateful counter (the 500 and 503 pages fail again)."""
        with self._seen_lock:
            self._seen.clear()
        self.log.clear()

    def _next_seen(self, site: str, path: str) -> int:
        with self._seen_lock:
            seen = self._seen[(site, path)]
            self._seen[(site, path)] += 1
            return seen

    def base_url(self, site: str) -> str:
        return f"http://{self.sites[site].address}:{self.port}"

    def url(self, site: str, path: str = "") -> str:
        return self.base_url(site) + path

    def __enter__(self) -> Self:
        return self.start() if not self._servers else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
