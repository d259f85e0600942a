"""gkmlpt, Guangdong's 政府信息公开目录平台: 示例市人民政府's 年报 column.

What it tests: ``/gkmlpt/annualreport`` is a hash-routed JS shell (no rows in the HTML; the
column id is the URL fragment, ``SID: '175'`` sits in a script); the rows come from
``/gkmlpt/api/all/2629?page=N&sid=175`` JSON, 100 per page, over two pages, with ``total`` smaller
than ``classify.post_count``; ``url`` is protocol-relative; ``create_time`` is an epoch; one row is
``type: 'url'``, a jump to another host. Detail pages ``/gkmlpt/content/3/3812/post_N.html`` embed
``DETAIL: {…}, TREE:`` and print the report in ``div.article-content``.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from html import escape

from tests.portal.content import Article
from tests.portal.pages import article_body
from tests.portal.server import Request, Response, Route, SiteSpec, html, not_found

AGENCY = "示例市人民政府"
SID = "175"
COLUMN_ID = 2629
SHELL = "/gkmlpt/annualreport"
API = f"/gkmlpt/api/all/{COLUMN_ID}"
PER_PAGE = 100
HIDDEN_POSTS = 8  # counted in classify.post_count, never listed: total < post_count
CST = timezone(timedelta(hours=8))

UNITS = (
    "人民政府", "人民政府办公室", "发展和改革局", "教育局", "科学技术局", "工业和信息化局",
    "公安局", "民政局", "司法局", "财政局", "人力资源和社会保障局", "自然资源局", "生态环境局",
    "住房和城乡建设局", "交通运输局", "水务局", "农业农村局", "商务局", "文化广电旅游体育局",
    "卫生健康局", "应急管理局", "审计局", "市场监督管理局", "统计局", "医疗保障局",
    "城市管理和综合执法局", "政务服务数据管理局",
    "石岭镇", "东湖街道", "西江街道", "南山镇", "北岸镇", "河口镇")
FIRST_POST = 3812000
OFFSITE_PATH = "/gkmlpt/content/9/9001/post_9001001.html"


def post_path(number: int) -> str:
    return f"/gkmlpt/content/{number // 1000000}/{number // 1000}/post_{number}.html"


def _published(year: int, n: int) -> date:
    """When unit ``n`` published its report for ``year``: by the legal deadline (31 January for
    departments, 31 March for the 人民政府), except one late unit a year."""
    if n == 5 + (year - 2021) * 7:
        return date(year + 1, 2, 15)
    return date(year + 1, 1, 10) + timedelta(days=(3 * n) % 20)


def _articles() -> tuple[Article, ...]:
    rows: list[tuple[str, str, dict]] = []
    for year in (2021, 2022, 2023):
        for n, unit in enumerate(UNITS):
            agency = f"示例市{unit}"
            day = _published(year, n).isoformat()
            rows.append((day, f"{agency}{year}年政府信息公开工作年度报告",
                         {"agency": agency, "year": year, "tables": True}))
    rows += [
        ("2024-03-05", "示例市2024年政府工作报告", {"kind": "decoy", "why": "政府工作报告"}),
        ("2022-06-10", "示例市人民政府办公室关于印发《示例市政府信息公开工作年度报告制度》的通知",
         {"kind": "decoy", "why": "年报制度 notice"}),
        ("2023-04-12", "示例市2022年法治政府建设年度报告",
         {"kind": "decoy", "why": "法治政府建设年度报告"}),
    ]
    rows.sort(key=lambda r: (r[0], r[1]))
    articles = [Article(post_path(FIRST_POST + n), title, day, **kw)  # type: ignore[arg-type]
                for n, (day, title, kw) in enumerate(rows)]
    articles.append(Article(OFFSITE_PATH, "广东省示例局2023年政府信息公开工作年度报告",
                            "2024-02-20", agency="广东省示例局", year=2023, site="offsite",
                            why="type:'url' row: a jump to another host"))
    return tuple(sorted(articles, key=lambda a: (a.date, a.path), reverse=True))


ARTICLES = _articles()
_PUBLISHED = {a.path: a for a in ARTICLES if not a.site}


def _epoch(day: str, hour: int = 9) -> int:
    d = date.fromisoformat(day)
    return int(datetime(d.year, d.month, d.day, hour, 30, tzinfo=CST).timestamp())


def _post_id(article: Article) -> int:
    return int(article.path.rsplit("_", 1)[1].split(".")[0])


def _identifier(article: Article) -> str:
    """索引号: organisation code / year - sequence."""
    return f"007339{COLUMN_ID}/{article.date[:4]}-{_post_id(article) % 100000:05d}"


def _publisher(article: Article) -> str:
    return article.agency if article.kind == "report" and article.agency else f"{AGENCY}办公室"


def _row(req: Request, article: Article) -> dict:
    site = article.site or "gkmlpt"
    return {
        "id": _post_id(article), "title": article.title,
        "url": "//" + req.url(site, article.path).split("://", 1)[1],  # protocol-relative
        "type": "url" if article.site else "normal", "classify_main": COLUMN_ID,
        "create_time": _epoch(article.date), "date": _epoch(article.date, 8) - 86400,
        "created_at": f"{article.date} 09:30:00", "display_publish_time": _epoch(article.date),
        "identifier": _identifier(article),
        "publisher": _publisher(article),
    }


def api(req: Request, match) -> Response:
    if req.query.get("sid") != SID:
        return Response(404, b'{"code":404,"msg":"site not found"}', "application/json")
    try:
        page = max(int(req.query.get("page") or 1), 1)
    except ValueError:
        page = 1
    chosen = ARTICLES[(page - 1) * PER_PAGE: page * PER_PAGE]
    payload = {
        "classify": {"id": COLUMN_ID, "name": "政府信息公开年报",
                     "jump_url": f"//{req.url('gkmlpt', SHELL).split('://', 1)[1]}#{COLUMN_ID}",
                     "post_count": len(ARTICLES) + HIDDEN_POSTS},
        "total": len(ARTICLES), "offset": (page - 1) * PER_PAGE,
        "articles": [_row(req, a) for a in chosen],
    }
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(200, body, "application/json",
                    [("Set-Cookie", "gkmlfront_session=eyJpdiI6IjE3NSJ9; path=/; httponly")])


def shell(req: Request, match) -> Response:
    """The hash-routed UI: no rows in the HTML, the data comes from the API."""
    return html(f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>政府信息公开年报 - {AGENCY}</title>
<link rel="stylesheet" href="/gkmlpt/static/css/app.css"></head>
<body><div id="app"></div>
<script>window._CONFIG = {{SITE_NAME: '{AGENCY}', SID: '{SID}', ROOT: '/gkmlpt',
  TYPE: 'annualreport'}};</script>
<script src="/gkmlpt/static/js/app.js"></script>
</body></html>""", modified=ARTICLES[0].day)


def render(article: Article) -> bytes:
    title = escape(article.title)
    publisher = escape(_publisher(article))
    detail = json.dumps({"id": _post_id(article), "title": article.title,
                         "publisher": _publisher(article), "classify_main": COLUMN_ID,
                         "create_time": _epoch(article.date)}, ensure_ascii=False)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{article.date} 09:30">
<meta name="ContentSource" content="{publisher}">
<title>{title} - {AGENCY}</title></head>
<body><div class="gkml-detail">
<table class="classify"><tr><td>索引号：</td><td>{_identifier(article)}</td>
<td>分类：</td><td>政府信息公开年报</td></tr>
<tr><td>发布机构：</td><td>{publisher}</td><td>发布日期：</td><td>{article.date}</td></tr></table>
<h1 class="title">{title}</h1>
<div class="article-content">{article_body(article)}</div></div>
<script>var PAGE = {{ SID: '{SID}', DETAIL: {detail},
  TREE: [{{"id": {COLUMN_ID}, "name": "政府信息公开年报"}}] }};</script>
</body></html>""".encode()


def detail(req: Request, match) -> Response:
    article = _PUBLISHED.get(req.path)
    if article is None:
        return not_found()
    return Response(200, render(article), "text/html; charset=utf-8", modified=article.day)


def robots(req: Request, match) -> Response:
    return Response(200, b"User-agent: *\nDisallow:\n", "text/plain")


SITE = SiteSpec(
    name="gkmlpt", address="127.0.0.14", portal_id="fixture-gkmlpt", agency=AGENCY,
    start=f"{SHELL}#{COLUMN_ID}", family="gkmlpt",
    routes=(Route("/robots\\.txt", robots), Route(f"{SHELL}|/gkmlpt/index", shell),
            Route(API, api), Route("/gkmlpt/content/\\d+/\\d+/post_\\d+\\.html", detail)),
    articles=ARTICLES, render=render,
)
