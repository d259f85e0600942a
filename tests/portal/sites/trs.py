"""TRS WCM static publishing, UTF-8: 威海经济技术开发区's 政府信息公开年报 column.

Imitates real TRS portals: ``createPageHTML(3, k, "index", "html")`` 0-based paging over
index.html, index_1.html, index_2.html; tier sub-columns ``bmnb/`` (``.htm``, two pages) and
``zj/2021n/``; ``tYYYYMMDD_id`` articles with the national meta set, the 索引号 table with spaced
labels and a ``.TRS_Editor`` body; attachments as relative ``./P0….pdf``, as TRS appendix markup
(OLDSRC) and, once, only inside a ``document.write`` script; a ``_wap.html`` twin; a repost a year
later; decoys and an aggregation page; a row linking to another host; robots.txt disallowing the
历史年报 column (``lsnb/``). The other TRS-family site (gbk.py) reuses the templates below.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from datetime import date
from html import escape

from tests.portal.content import Article, Attachment
from tests.portal.pages import article_body
from tests.portal.server import Request, Response, Route, SiteSpec, file, html, not_found

W = "威海经济技术开发区"
COLUMN = "/zfxxgk/zfxxgknb/"
MODIFIED = date(2024, 3, 29)  # list pages change when the newest article appears


@dataclass(frozen=True)
class Column:
    path: str  # the column's directory
    name: str
    ext: str  # html / htm / shtml
    per_page: int
    articles: tuple[Article, ...]

    def pages(self) -> list[list[Article]]:
        listed = [a for a in self.articles if a.listed]
        return [listed[i:i + self.per_page] for i in range(0, len(listed), self.per_page)] or [[]]


def _a(path: str, title: str, day: str, **kw: object) -> Article:
    return Article(COLUMN + path, title, day, **kw)  # type: ignore[arg-type]


_2020 = f"{W}2020年政府信息公开工作年度报告"
WEIHAI_2020 = (
    Attachment(COLUMN + "202101/P020210128394857201234.pdf", "weihai_2020.pdf", f"{_2020}.pdf"),
    Attachment(COLUMN + "202101/P020210128394857204391.docx", "weihai_2020.docx", f"{_2020}.docx",
               form="appendix"),
    Attachment(COLUMN + "202101/P020210128394857205678.doc", "weihai_2020.doc", f"{_2020}.doc",
               form="script"),
)
REPORT_2021 = COLUMN + "202201/t20220125_1000010.html"
# Listed in the main column and in 历史年报, which robots.txt disallows: never to be fetched.
DISALLOWED_2019 = _a("lsnb/202001/t20200115_900001.html", f"{W}2019年政府信息公开工作年度报告",
                     "2020-01-15", agency=W, year=2019, tables=True)
REPORT_2023 = COLUMN + "202401/t20240119_1000021.html"
AGGREGATOR = COLUMN + "202403/t20240329_1000023.html"

MAIN = Column(COLUMN, "政府信息公开年报", "html", 5, (
    _a("202403/t20240329_1000023.html", f"2023年{W}“政府信息公开工作年度报告”集中公开专题页面",
       "2024-03-29", kind="decoy", why="aggregation page: links to the reports, is not one"),
    _a("202402/t20240201_1000022.html", f"{W}2024年部门预算", "2024-02-01", kind="decoy",
       why="部门预算 in the 年报 column"),
    _a("202401/t20240119_1000021.html", f"{W}2023年政府信息公开工作年度报告", "2024-01-19",
       agency=W, year=2023, tables=True),
    _a("202312/t20231205_1000020.html", "关于做好2023年政府信息公开工作年度报告编制工作的通知",
       "2023-12-05", kind="decoy", why="drafting notice (编制工作的通知)"),
    _a("202301/t20230118_1000015.html", f"{W} 2022 年政府信息公开工作年度报告", "2023-01-18",
       agency=W, year=2022, tables=True, r1_broken=True),
    # index_1.html
    _a("202301/t20230110_1000014.html", f"{W}2021年政府信息公开工作年度报告", "2023-01-10",
       kind="repost", agency=W, year=2021, tables=True, same_as=REPORT_2021,
       why="the 2021 report re-posted a year later under a new URL"),
    _a("202203/t20220310_1000013.html", f"{W}2021年法治政府建设年度报告", "2022-03-10",
       kind="decoy", why="法治政府建设年度报告"),
    _a("202202/t20220215_88001.html", "威海市人民政府2021年政府信息公开工作年度报告", "2022-02-15",
       agency="威海市人民政府", year=2021, site="offsite"),
    _a("202201/t20220125_1000010.html", f"{W}2021年政府信息公开工作年度报告", "2022-01-25",
       agency=W, year=2021, tables=True),
    _a("202112/t20211210_1000008.html",
       "国务院办公厅政府信息与政务公开办公室关于印发《中华人民共和国"
       "政府信息公开工作年度报告格式》的通知", "2021-12-10", kind="decoy",
       why="format notice: prints the blank tables"),
    # index_2.html
    _a("202101/t20210128_1000005.html", _2020, "2021-01-28", agency=W, year=2020,
       attachments=WEIHAI_2020),
    DISALLOWED_2019,
    _a("202401/t20240119_1000021_wap.html", f"{W}2023年政府信息公开工作年度报告", "2024-01-19",
       kind="wap", agency=W, year=2023, tables=True, same_as=REPORT_2023, listed=False,
       why="_wap twin, linked only from the article's 手机版 link"),
))
BMNB = Column(COLUMN + "bmnb/", "部门年报", "htm", 2, (
    _a("bmnb/202401/t20240126_1000031.htm", f"{W}财政局2023年政府信息公开工作年度报告",
       "2024-01-26", agency=f"{W}财政局", year=2023, tables=True),
    _a("bmnb/202401/t20240124_1000030.htm", f"{W}教育局 2023年度政府信息公开工作年度报告",
       "2024-01-24", agency=f"{W}教育局", year=2023, tables=True),
    _a("bmnb/202301/t20230130_1000027.htm", f"{W}财政局2022年政府信息公开工作年度报告",
       "2023-01-30", agency=f"{W}财政局", year=2022, tables=True),
))
ZJ = Column(COLUMN + "zj/2021n/", "镇街年报（2021年）", "html", 5, (
    _a("zj/2021n/202201/t20220121_1000041.html", "皇冠街道办事处2021年政府信息公开工作年度报告",
       "2022-01-21", agency="皇冠街道办事处", year=2021, tables=True),
    _a("zj/2021n/202201/t20220119_1000040.html", "泊于镇2021年政府信息公开工作年度报告",
       "2022-01-19", agency="泊于镇", year=2021, tables=True, heading_year=False),
))
LSNB = Column(COLUMN + "lsnb/", "历史年报", "html", 5, (DISALLOWED_2019,))
COLUMNS = (MAIN, BMNB, ZJ, LSNB)
DISALLOWED = (LSNB.path, "/was5/")  # robots.txt: the 历史年报 column and site search
NAV = ((COLUMN, "政府年报"), (BMNB.path + "index.htm", "部门年报"), (ZJ.path, "镇街年报（2021年）"),
       (LSNB.path, "历史年报"))


# -- templates shared with the GBK site ------------------------------------------------------------

def list_page(site_name: str, column: Column, rows: str, paging: str, charset: str,
              nav: tuple[tuple[str, str], ...]) -> str:
    links = "".join(f'<li><a href="{href}">{escape(text)}</a></li>' for href, text in nav)
    section = "/" + column.path.strip("/").split("/")[0] + "/"
    return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<meta name="SiteName" content="{escape(site_name)}">
<meta name="ColumnName" content="{escape(column.name)}">
<title>{escape(column.name)}_{escape(site_name)}</title>
<script src="/images/createPageHTML.js"></script></head>
<body><div class="top"><a href="/">首页</a> | <a href="{section}">政府信息公开</a></div>
<div class="left"><h3>政府信息公开年报</h3><ul>{links}</ul></div>
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="{section}">政府信息公开</a>
  &gt; <a href="./">{escape(column.name)}</a></div>
<ul class="list">
{rows}
</ul>
<div class="page">{paging}</div>
</body></html>"""


def list_rows(req: Request, column: Column, articles: list[Article]) -> str:
    rows = []
    for a in articles:
        href = req.url(a.site, a.path) if a.site else "./" + a.path[len(column.path):]
        rows.append(f'<li><a href="{href}" target="_blank" title="{escape(a.title)}">'
                    f'{escape(a.title)}</a><span class="date">{a.date}</span></li>')
    return "\n".join(rows)


def attachment_links(article: Article) -> str:
    """Links as TRS pages write them: relative ./P0… names, appendix markup, document.write."""
    parts = []
    here = posixpath.dirname(article.path)
    for att in article.attachments:
        assert posixpath.dirname(att.path) == here, att.path
        name, href = escape(att.name), "./" + posixpath.basename(att.path)
        if att.form == "appendix":
            parts.append(f'<p class="insertfileTag"><a appendix="true" data-appendix="true" '
                         f'needdownload="true" href="{href}" title="{name}" download="{name}" '
                         f'OLDSRC="/protect/P0{article.date[:7].replace("-", "")}/{href[2:]}">'
                         f"{name}</a></p>")
        elif att.form == "script":
            parts.append(f"""<script type="text/javascript">
var file_appendix = "{name}";
if (file_appendix != "") {{
  document.write('<p>附件：<a href="{href}" target="_blank">{name}</a></p>');
  document.write('<p><a href="http://share.fixture.invalid/{href[2:]}">分享到政务客户端</a></p>');
}}
</script>""")
        else:
            parts.append(f'<p>附件：<a href="{href}" target="_blank">{name}</a></p>')
    return "\n".join(parts)


def _doc_number(path: str) -> str:
    """The 索引号 sequence: the last five digits of the TRS document id."""
    match = re.search(r"t\d{8}_(\d+)", path)
    return (match.group(1) if match else "0")[-5:].rjust(5, "0")

def article_page(article: Article, *, site_name: str, column_name: str, charset: str,
                 source: str, site_code: str, extra: str = "") -> str:
    title = escape(article.title)
    mobile = article.kind == "wap"
    return f"""<!DOCTYPE html>
<html><head>
<meta http-equiv="Content-Type" content="text/html; charset={charset}" />
<meta name="SiteName" content="{escape(site_name)}">\
<meta name="SiteDomain" content="trs.fixture.gov.cn">
<meta name="SiteIDCode" content="{site_code}">\
<meta name="ColumnName" content="{escape(column_name)}">
<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{article.date} 09:30">
<meta name="ContentSource" content="{escape(source)}">
<title>{title}</title></head>
<body class="{'wap' if mobile else 'pc'}">
<div class="crumb">当前位置：<a href="/">首页</a>
  &gt; <a href="/{article.path.split("/")[1]}/">政府信息公开</a> &gt; {escape(column_name)}</div>
<table class="xxgk_table" width="100%">
<tr><td>索 引 号：</td><td>{site_code[:9]}/{article.date[:4]}-{_doc_number(article.path)}</td>
<td>分 类：</td><td>政府信息公开年报</td></tr>
<tr><td>发布机构：</td><td>{escape(source)}</td><td>发布日期：</td><td>{article.date}</td></tr>
<tr><td>文 号：</td><td></td><td>有 效 性：</td><td>有效</td></tr>
</table>
<h1>{title}</h1>
<div class="info">发布时间：{article.date} 09:30　来源：{escape(source)}
  【字体：大 中 小】【打印】【关闭】</div>
<div class="TRS_Editor">{article_body(article)}</div>
<div class="attach">{attachment_links(article)}</div>
{extra}
<div class="footer">主办：{escape(site_name)}　<a href="/">网站首页</a></div>
</body></html>"""


# -- this site -----------------------------------------------------------------------------------

ARTICLES = tuple(a for c in (MAIN, BMNB, ZJ) for a in c.articles)
_PUBLISHED = {a.path: a for a in ARTICLES if not a.site}
_FILES = {att.path: (att, a) for a in ARTICLES for att in a.attachments}
_MIME = {".pdf": "application/pdf", ".doc": "application/msword",
         ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def render(article: Article) -> bytes:
    extra = ""
    if article.path == REPORT_2023:
        twin = posixpath.basename(REPORT_2023).replace(".html", "_wap.html")
        extra = f'<div class="wap"><a href="./{twin}">手机版</a></div>'
    if article.path == AGGREGATOR:
        links = "".join(f'<li><a href="{a.path}">{escape(a.title)}</a></li>' for a in ARTICLES
                        if a.kind == "report" and not a.site and a.listed)
        extra = f'<ul class="zt">{links}</ul>'
    return article_page(article, site_name=W, column_name="政府信息公开年报", charset="utf-8",
                        source=f"{W}管理委员会办公室", site_code="3710000041",
                        extra=extra).encode("utf-8")


def _list(column: Column):
    def handler(req: Request, match) -> Response:
        pages = column.pages()
        k = int(match.group(1) or 0)
        if k >= len(pages) or match.group(1) == "0":
            return not_found()
        paging = f'<script>createPageHTML({len(pages)}, {k}, "index", "{column.ext}");</script>'
        nav = NAV if column is not LSNB else ()
        text = list_page(W, column, list_rows(req, column, pages[k]), paging, "utf-8", nav)
        return html(text, modified=MODIFIED)
    return Route(f"{column.path}(?:index(?:_(\\d+))?\\.{column.ext})?", handler)


def published(req: Request, match) -> Response:
    """Article pages and their attachments, looked up by path."""
    if req.path in _PUBLISHED:
        article = _PUBLISHED[req.path]
        return Response(200, render(article), "text/html; charset=utf-8", modified=article.day)
    if req.path in _FILES:
        att, article = _FILES[req.path]
        return file(att.data, _MIME[posixpath.splitext(att.path)[1]], modified=article.day)
    return not_found()


def robots(req: Request, match) -> Response:
    lines = ["User-agent: *", *(f"Disallow: {prefix}" for prefix in DISALLOWED)]
    return Response(200, ("\n".join(lines) + "\n").encode(), "text/plain")


def page_js(req: Request, match) -> Response:
    return Response(200, PAGE_JS.encode(), "application/javascript", modified=MODIFIED)


PAGE_JS = """function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt) {
  if (_nPageCount == null || _nPageCount <= 1) return;
  var prev = _nCurrIndex - 1, next = _nCurrIndex + 1;
  if (_nCurrIndex > 0) {
    var back = prev == 0 ? _sPageName : _sPageName + "_" + prev;
    document.write("<a href=\\"" + back + "." + _sPageExt + "\\">上一页</a> ");
  }
  if (next < _nPageCount)
    document.write("<a href=\\"" + _sPageName + "_" + next + "." + _sPageExt + "\\">下一页</a> ");
  document.write("共" + _nPageCount + "页");
}
"""

SITE = SiteSpec(
    name="trs", address="127.0.0.11", portal_id="fixture-trs", agency=f"{W}管理委员会",
    start=COLUMN + "index.html", family="trs",
    routes=(Route("/robots\\.txt", robots),  # home pages: homes.py
            Route("/images/createPageHTML\\.js", page_js), *(_list(c) for c in COLUMNS),
            Route("/.*", published)),
    articles=ARTICLES, render=render, disallowed=DISALLOWED,
)
