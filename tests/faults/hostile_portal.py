"""A hostile portal on 127.0.0.1 for the crawl fault tests: redirect loops, huge and endless
bodies, a gzip bomb made at start (never committed), a server that never answers, a list of
100,000 links, and plain small documents. Every endless answer is bounded (bytes and seconds)
and ends when the server stops, so no test can hang on it.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TITLE = "{}局2023年政府信息公开工作年度报告"
AGENCIES = "甲乙丙丁戊己庚辛壬癸"
HUGE_DECLARED = 2 * 1024**3  # the Content-Length a "2 GB" document declares
ENDLESS_BOUND = 64 * 1024**2  # bytes an endless body sends at most before giving up itself
SILENCE_BOUND = 30.0  # seconds a silent answer waits at most
BOMB_INFLATED = 64 * 1024**2  # the gzip bomb's size once inflated (~64 KB compressed)
BIG_LIST = 100_000


def document_body(path: str) -> bytes:
    """A small distinct document body per path (the crawl stores bytes; it does not read them)."""
    return b"%PDF-1.4\n% nianbao fault test document " + path.encode() + b"\n" + b"0" * 2000


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # a crawler hanging up is the point
        pass


class HostilePortal:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.paths: list[str] = []
        self.stopping = threading.Event()
        self.bomb = gzip.compress(b"\0" * BOMB_INFLATED, compresslevel=9)
        self.big_list = self._big_list()
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> HostilePortal:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def config(self, directory: Path, portal_id: str, start: str, **extra: object) -> Path:
        """A portal YAML crawling ``start`` on this server, politeness off."""
        lines = [f"id: {portal_id}", "agency: 测试局", f'start_urls: ["{self.base}{start}"]',
                 "delay: 0", *(f"{k}: {v}" for k, v in extra.items())]
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{portal_id}.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def _big_list(self) -> bytes:
        rows = "".join(f'<li><a href="/big/art/{n}.html">{TITLE.format(n)}</a></li>'
                       for n in range(BIG_LIST))
        return f"<html><body><ul>{rows}</ul></body></html>".encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        portal = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                with portal._lock:
                    portal.hits[self.path] += 1
                    portal.paths.append(self.path)
                route = ROUTES.get(self.path)
                if route is None:
                    for prefix, handler in PREFIX_ROUTES:
                        if self.path.startswith(prefix):
                            route = handler
                            break
                try:
                    (route or _not_found)(portal, self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler gave up on this answer: what the fault is about

        return Handler


def _send(handler: BaseHTTPRequestHandler, body: bytes, content_type: str = "text/html; "
          "charset=utf-8", status: int = 200, headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def _not_found(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    _send(handler, b"<html><body>not here, and not a report</body></html>", status=404)


def _redirect(to: str):
    def route(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
        _send(handler, b"", status=302, headers={"Location": to})
    return route


def _climbing_redirect(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    """Every hop a new URL (/climb/1, /climb/2, ...): a loop no URL repeats in."""
    n = int(handler.path.rsplit("/", 1)[-1] or 0)
    _send(handler, b"", status=302, headers={"Location": f"/climb/{n + 1}"})


def _documents_list(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    names = ["ok", "huge", "endless", "bomb", "silent", "ok2"]
    rows = "".join(f'<li><a href="/docs/{name}.pdf">{TITLE.format(AGENCIES[i])}</a> 2024-02-01</li>'
                   for i, name in enumerate(names))
    _send(handler, f"<html><body><ul>{rows}</ul></body></html>".encode())


REAL_REPORT = Path(__file__).parents[1] / "data" / "hongze_district_2023.pdf"


def _real_list(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    """A real report (from tests/data) next to a 2 GB one and a gzip bomb."""
    links = ["/docs-real/report.pdf", "/docs/huge.pdf", "/docs/bomb.pdf"]
    rows = "".join(f'<li><a href="{link}">{TITLE.format(AGENCIES[i])}</a> 2024-02-01</li>'
                   for i, link in enumerate(links))
    _send(handler, f"<html><body><ul>{rows}</ul></body></html>".encode())


def _real_report(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    _send(handler, REAL_REPORT.read_bytes(), content_type="application/pdf")


def _document(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    _send(handler, document_body(handler.path), content_type="application/pdf")


def _huge(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    """Declares 2 GB, sends a little, then waits for the crawler to hang up (bounded)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/pdf")
    handler.send_header("Content-Length", str(HUGE_DECLARED))
    handler.end_headers()
    handler.wfile.write(b"%PDF-1.4\n")
    portal.stopping.wait(SILENCE_BOUND)


def _endless(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    """Chunked, no length, never ends on its own (bounded by ENDLESS_BOUND and the server)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/pdf")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"0" * 65536
    sent = 0
    while sent < ENDLESS_BOUND and not portal.stopping.is_set():
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sent += len(chunk)
    handler.close_connection = True


def _bomb(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    _send(handler, portal.bomb, content_type="application/pdf",
          headers={"Content-Encoding": "gzip"})


def _silent(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    """Accepts, reads the request, never answers (until SILENCE_BOUND or the server stops)."""
    deadline = time.monotonic() + SILENCE_BOUND
    while time.monotonic() < deadline and not portal.stopping.wait(0.1):
        pass
    handler.close_connection = True


MANY_DOCUMENTS = 40
MANY_SIZE = 256 * 1024


def _many_list(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    """/many/<k>/index.html: MANY_DOCUMENTS report documents of MANY_SIZE bytes each."""
    folder = handler.path.rsplit("/", 1)[0]
    rows = "".join(f'<li><a href="{folder}/{n}.pdf">{TITLE.format(n)}</a> 2024-02-01</li>'
                   for n in range(MANY_DOCUMENTS))
    _send(handler, f"<html><body><ul>{rows}</ul></body></html>".encode())


def _many_document(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    if handler.path.endswith("/index.html"):
        _many_list(portal, handler)
        return
    body = document_body(handler.path)
    _send(handler, body + b"0" * (MANY_SIZE - len(body)), content_type="application/pdf")


def _big_list_page(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    _send(handler, portal.big_list)


def _big_article(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    n = handler.path.rsplit("/", 1)[-1].split(".")[0]
    body = (f"<html><head><title>{TITLE.format(n)}</title></head><body><h1>{TITLE.format(n)}"
            f"</h1><p>发布日期：2024-02-01</p><p>第{n}篇。</p></body></html>")
    _send(handler, body.encode())


def _robots(portal: HostilePortal, handler: BaseHTTPRequestHandler) -> None:
    _send(handler, b"User-agent: *\nAllow: /\n", content_type="text/plain")


ROUTES = {
    "/robots.txt": _robots,
    "/loop/index.html": _redirect("/loop/a.html"),
    "/loop/a.html": _redirect("/loop/index.html"),
    "/self/index.html": _redirect("/self/index.html"),
    "/docs/index.html": _documents_list,
    "/docs-real/index.html": _real_list,
    "/docs-real/report.pdf": _real_report,
    "/docs/ok.pdf": _document,
    "/docs/ok2.pdf": _document,
    "/docs/huge.pdf": _huge,
    "/docs/endless.pdf": _endless,
    "/docs/bomb.pdf": _bomb,
    "/docs/silent.pdf": _silent,
    "/silent/index.html": _silent,
    "/big/index.html": _big_list_page,
}
PREFIX_ROUTES = (("/climb/", _climbing_redirect), ("/big/art/", _big_article),
                 ("/many/", _many_document))
