"""A plain static site: 上海市人民政府办公厅's reports under Shanghai-style ``nw…/yyyymmdd/hex``
paths.

What it tests: no CMS fingerprint at all (plain ``<ul>`` rows, a plain 下一页 link to
``index_2.html``); a real report page served byte for byte
(tests/data/shanghai_gov_office_2019.html) and the same bytes again under a second URL a year
later; a title with no agency (the agency comes from the site); a （超链版） variant of a
report; a decoy. robots.txt does not exist (404).
"""

from __future__ import annotations

from datetime import date
from html import escape

from tests.portal.content import Article, data_file
from tests.portal.pages import article_body
from tests.portal.server import Request, Response, Route, SiteSpec, html, not_found

AGENCY = "上海市人民政府办公厅"
COLUMN = "/nw12344/"
PER_PAGE = 4
SHANGHAI_2019 = "shanghai_gov_office_2019.html"
ORIGINAL_2019 = COLUMN + "20200131/4c939f8161dc4b6f9f2e5b1a7d0c3e21.html"
REPORT_2022 = COLUMN + "20230130/9a1d3c5e7f8b4a2c9e0d1f3b5a7c9e12.html"

ARTICLES = (  # newest first
    Article(COLUMN + "20230310/c3d5f7a9b1c34e5a7b9d1f3a5c7e9b34.html",
            f"{AGENCY}关于印发《2023年上海市政务公开工作要点》的通知", "2023-03-10", kind="decoy",
            why="政务公开工作要点 notice"),
    Article(COLUMN + "20230131/b2c4e6f8a0b24d6f8a1c3e5b7d9f0a23.html",
            f"{AGENCY}2022年政府信息公开工作年度报告（超链版）", "2023-01-31", kind="variant",
            agency=AGENCY, year=2022, tables=True, same_as=REPORT_2022,
            why="（超链版）: the same report with hyperlinks"),
    Article(REPORT_2022, "2022年政府信息公开工作年度报告", "2023-01-30", agency=AGENCY, year=2022,
            tables=True),
    Article(COLUMN + "20220128/d4e6a8b0c2d44f6b8c0e2a4b6d8f0c45.html",
            f"2021年{AGENCY}政府信息公开工作年度报告", "2022-01-28", agency=AGENCY, year=2021,
            tables=True),
    # index_2.html
    Article(COLUMN + "20210315/e5f7b9c1d3e54a7c9d1f3b5c7e9a1d56.html",
            f"2019年{AGENCY}政府信息公开工作年度报告", "2021-03-15", kind="repost", agency=AGENCY,
            year=2019, source=SHANGHAI_2019, same_as=ORIGINAL_2019,
            why="the same bytes re-posted under a second URL after a site migration"),
    Article(ORIGINAL_2019, f"2019年{AGENCY}政府信息公开工作年度报告", "2020-01-31", agency=AGENCY,
            year=2019, source=SHANGHAI_2019),
)
_PUBLISHED = {a.path: a for a in ARTICLES}
MODIFIED = date(2023, 3, 10)


def render(article: Article) -> bytes:
    if article.source:
        return data_file(article.source)
    title = escape(article.title)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="ArticleTitle" content="{title}">
<meta name="PubDate" content="{article.date}"><meta name="ContentSource" content="{AGENCY}">
<title>{title}</title></head>
<body><div class="crumb"><a href="/">首页</a> &gt; \
<a href="{COLUMN}index.html">政府信息公开年报</a></div>
<h2 class="Article-title">{title}</h2>
<p class="Article-time">发布日期：{article.date}</p>
<div id="ivs_content" class="Article_content">{article_body(article)}</div>
</body></html>""".encode()


def list_handler(req: Request, match) -> Response:
    number = int(match.group(1) or 1)
    pages = [ARTICLES[i:i + PER_PAGE] for i in range(0, len(ARTICLES), PER_PAGE)]
    if number > len(pages) or match.group(1) == "1":
        return not_found()
    rows = "\n".join(f'<li><a href="{a.path}" target="_blank">{escape(a.title)}</a>'
                     f"<span>{a.date}</span></li>" for a in pages[number - 1])
    links = []
    if number > 1:
        previous = "index.html" if number == 2 else f"index_{number - 1}.html"
        links.append(f'<a href="{previous}">上一页</a>')
    if number < len(pages):
        links.append(f'<a href="index_{number + 1}.html">下一页</a>')
    return html(f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>政府信息公开年报</title></head>
<body><h1>{AGENCY}</h1><h2>政府信息公开年报</h2>
<ul class="uli14">
{rows}
</ul>
<div class="pages">{" ".join(links)}</div>
</body></html>""", modified=MODIFIED)


def published(req: Request, match) -> Response:
    article = _PUBLISHED.get(req.path)
    if article is None:
        return not_found()
    return Response(200, render(article), "text/html; charset=utf-8", modified=article.day)


SITE = SiteSpec(
    name="static", address="127.0.0.15", portal_id="fixture-static", agency=AGENCY,
    start=COLUMN + "index.html", family="static",
    routes=(Route(f"{COLUMN}(?:index(?:_(\\d+))?\\.html)?", list_handler),
            Route(f"{COLUMN}\\d{{8}}/[0-9a-f]{{32}}\\.html", published)),
    articles=ARTICLES, render=render,
)
