"""A plain portal where each listed report misbehaves in one way.

Every row of ``/xxgk/ndbg/index.html`` is a report title; what its URL does:

* ``http_500_once``: 500 on the first request (per server lifetime or ``reset()``), then the page;
* ``http_503_once``: 503 with ``Retry-After: 1`` on the first request, then the page;
* ``slow``: the page, after ``SLOW_SECONDS`` before the first byte;
* ``offsite_redirect``: 302 to the off-allow-list host (127.0.0.99), which must never be asked;
* ``404``: gone;
* ``soft_404``: 200 with a small "页面不存在" page (not a report, whatever the status says).
"""

from __future__ import annotations

from datetime import date
from html import escape

from tests.portal.content import Article
from tests.portal.pages import article_body
from tests.portal.server import Request, Response, Route, SiteSpec, html, not_found, redirect

AGENCY = "示例县人民政府"
COLUMN = "/xxgk/ndbg/"
SLOW_SECONDS = 3.0
MODIFIED = date(2024, 3, 28)


def _report(path: str, agency: str, year: int, day: str, fault: str) -> Article:
    reachable = fault in ("http_500_once", "http_503_once", "slow")
    return Article(COLUMN + path, f"{agency}{year}年政府信息公开工作年度报告", day, agency=agency,
                   year=year, tables=reachable, fault=fault)


ARTICLES = (
    _report("202403/t20240328_3000011.html", AGENCY, 2023, "2024-03-28", "http_500_once"),
    _report("202402/t20240205_3000010.html", "示例县财政局", 2023, "2024-02-05", "http_503_once"),
    _report("202401/t20240130_3000009.html", "示例县教育局", 2023, "2024-01-30", "slow"),
    _report("202401/t20240126_3000008.html", "示例县水利局", 2023, "2024-01-26",
            "offsite_redirect"),
    _report("202303/t20230328_3000005.html", AGENCY, 2022, "2023-03-28", "404"),
    _report("202203/t20220329_3000002.html", AGENCY, 2021, "2022-03-29", "soft_404"),
)
_BY_PATH = {a.path: a for a in ARTICLES}

SOFT_404 = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>提示信息</title></head>
<body><div class="tip"><h3>页面不存在</h3>\
<p>您访问的页面不存在或已被删除，请返回<a href="/">首页</a>。</p>
</div></body></html>"""


def render(article: Article) -> bytes:
    title = escape(article.title)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="ArticleTitle" content="{title}">
<meta name="PubDate" content="{article.date} 10:00">
<meta name="ContentSource" content="{escape(article.agency or AGENCY)}">
<title>{title}</title></head>
<body><h1>{title}</h1><div class="article-content">{article_body(article)}</div></body></html>
""".encode()


def list_page(req: Request, match) -> Response:
    rows = "\n".join(f'<li><a href="{a.path}">{escape(a.title)}</a><span>{a.date}</span></li>'
                     for a in ARTICLES)
    return html(f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>政府信息公开年报 - {AGENCY}</title></head>
<body><h2>政府信息公开年报</h2><ul class="list">
{rows}
</ul></body></html>""", modified=MODIFIED)


def article(req: Request, match) -> Response:
    found = _BY_PATH.get(req.path)
    if found is None or found.fault == "404":
        return not_found()
    page = Response(200, render(found), "text/html; charset=utf-8", modified=found.day)
    if found.fault == "http_500_once" and req.seen == 0:
        return Response(500, b"<html><body><h1>500 Internal Server Error</h1></body></html>")
    if found.fault == "http_503_once" and req.seen == 0:
        return Response(503, b"<html><body><h1>503 Service Temporarily Unavailable</h1></body>"
                             b"</html>", headers=[("Retry-After", "1")])
    if found.fault == "slow":
        page.delay = SLOW_SECONDS
    if found.fault == "offsite_redirect":
        return redirect(req.url("offsite", found.path))
    if found.fault == "soft_404":
        return html(SOFT_404)
    return page


def robots(req: Request, match) -> Response:
    return Response(200, b"User-agent: *\nDisallow: /admin/\n", "text/plain")


SITE = SiteSpec(
    name="errors", address="127.0.0.17", portal_id="fixture-errors", agency=AGENCY,
    start=COLUMN + "index.html", family="static",
    routes=(Route("/robots\\.txt", robots), Route(f"{COLUMN}(?:index\\.html)?", list_page),
            Route(f"{COLUMN}\\d{{6}}/t\\d{{8}}_\\d+\\.html", article)),
    articles=ARTICLES, render=render,
)
