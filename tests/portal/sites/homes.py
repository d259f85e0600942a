"""Home pages and 政府信息公开 pages for the TRS, Hanweb and gkmlpt sites: what portal discovery
(``nianbao discover``) starts from.

Navigation as the real portals print it: a top bar (首页 / 政府信息公开 / 政务服务 …), a
政府信息公开 page with a left tree of columns (指南, 制度, 法定主动公开内容, 年报 with its
部门 / 镇街 / 历史 sub-columns), Hanweb's ``/col/col{id}/index.html`` columns, Guangdong's
``/gkmlpt/annualreport#{column}`` hash links. Decoy columns sit next to the real ones:
政府网站工作年度报表, 财政预决算, 年度计划 (named so), and 年度报告专栏, a neutrally named TRS
column that lists only other yearly reports (法治政府建设, 政府工作报告), which only reading its
list tells apart. A link to the offsite host (never to be followed) is on the TRS home page.

The report columns discovery must find: ``COLUMNS`` (site -> start URLs); the decoy columns
it must never write: ``DECOYS``. Existing pages of the sites are unchanged: these routes only
add paths the sites did not serve (the bare ``/`` home pages are richer now).
"""

from __future__ import annotations

from datetime import date
from html import escape

from tests.portal.content import Article
from tests.portal.server import Request, Response, Route, html
from tests.portal.sites import gkmlpt, hanweb, trs

MODIFIED = date(2024, 3, 29)

# -- TRS: 威海经济技术开发区 -----------------------------------------------------------------------

XXGK = "/zfxxgk/"
FDZDGK = XXGK + "fdzdgknr/"
NDBG = trs.Column(XXGK + "ndbg/", "年度报告专栏", "html", 10, (
    Article(XXGK + "ndbg/202403/t20240320_1000101.html", f"{trs.W}2023年法治政府建设年度报告",
            "2024-03-20", kind="decoy"),
    Article(XXGK + "ndbg/202402/t20240205_1000100.html", f"{trs.W}2024年政府工作报告",
            "2024-02-05", kind="decoy"),
    Article(XXGK + "ndbg/202302/t20230210_1000099.html", f"{trs.W}2023年政府工作报告",
            "2023-02-10", kind="decoy"),
))
WZNDBB = trs.Column(XXGK + "wzndbb/", "政府网站工作年度报表", "html", 10, (
    Article(XXGK + "wzndbb/202401/t20240115_1000111.html",
            f"{trs.W}门户网站2023年政府网站工作年度报表", "2024-01-15", kind="decoy"),
))
CZYJS = trs.Column(FDZDGK + "czyjs/", "财政预决算", "html", 10, (
    Article(FDZDGK + "czyjs/202402/t20240201_1000121.html", f"{trs.W}2024年部门预算", "2024-02-01",
            kind="decoy"),
    Article(FDZDGK + "czyjs/202308/t20230810_1000120.html", f"{trs.W}2022年部门决算", "2023-08-10",
            kind="decoy"),
))
_TRS_TREE = (
    ("政府信息公开指南", XXGK + "zfxxgkzn/"), ("政府信息公开制度", XXGK + "zfxxgkzd/"),
    ("法定主动公开内容", FDZDGK), ("政府信息公开年报", trs.COLUMN),
    ("部门年报", trs.BMNB.path + "index.htm"), ("镇街年报（2021年）", trs.ZJ.path),
    ("历史年报", trs.LSNB.path), ("年度报告专栏", NDBG.path),
    ("政府网站工作年度报表", WZNDBB.path),
)


def _trs_page(title: str, body: str) -> Response:
    return html(f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta name="SiteName" content="{trs.W}"><meta name="ColumnName" content="{escape(title)}">
<title>{escape(title)}_{trs.W}</title></head>
<body><div class="header"><img src="/images/logo.png" alt="{trs.W}"></div>
<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/zjjq/">走进经区</a></li>
<li><a href="/xwzx/">新闻中心</a></li><li><a href="{XXGK}">政府信息公开</a></li>
<li><a href="/zwfw/">政务服务</a></li><li><a href="/hdjl/">互动交流</a></li></ul></div>
{body}
<div class="footer"><a href="/wzdt/">网站地图</a> | <a href="{WZNDBB.path}">政府网站工作年度报表</a>
<p>主办：{trs.W}管理委员会办公室</p></div>
</body></html>""", modified=MODIFIED)


def trs_home(req: Request, match) -> Response:
    newest = trs.MAIN.articles[2]  # the newest report, linked from the 最新公开 box
    return _trs_page("首页", f"""<div class="zxgk"><h3>最新公开</h3><ul>
<li><a href="{newest.path}" title="{escape(newest.title)}">{escape(newest.title)}</a></li>
</ul></div>
<div class="links"><h3>友情链接</h3><a href="{req.url("offsite", "/")}">威海市人民政府</a></div>""")


def trs_xxgk(req: Request, match) -> Response:
    tree = "".join(f'<li><a href="{href}">{escape(text)}</a></li>' for text, href in _TRS_TREE)
    return _trs_page("政府信息公开", f"""<div class="crumb">当前位置：<a href="/">首页</a> &gt;
  <a href="{XXGK}">政府信息公开</a></div>
<div class="xxgk-left"><h3>政府信息公开</h3><ul class="tree">{tree}</ul></div>""")


def trs_fdzdgk(req: Request, match) -> Response:
    return _trs_page("法定主动公开内容", f"""<div class="xxgk-left"><ul class="tree">
<li><a href="{FDZDGK}jgzn/">机构职能</a></li><li><a href="{FDZDGK}zcwj/">政策文件</a></li>
<li><a href="{CZYJS.path}">财政预决算</a></li><li><a href="{FDZDGK}ndjh/">年度计划</a></li>
<li><a href="{FDZDGK}gzzj/">工作总结</a></li></ul></div>""")


def _trs_list(column: trs.Column):
    def handler(req: Request, match) -> Response:
        rows = trs.list_rows(req, column, column.pages()[0])
        paging = f'<script>createPageHTML(1, 0, "index", "{column.ext}");</script>'
        return html(trs.list_page(trs.W, column, rows, paging, "utf-8", ()), modified=MODIFIED)
    return Route(f"{column.path}(?:index\\.{column.ext})?", handler)


def _empty(req: Request, match) -> Response:  # a column page with nothing about reports
    return _trs_page("政府信息公开", '<div class="list"><ul></ul></div>')


TRS_ROUTES = (Route("/", trs_home), Route(XXGK + "(?:index\\.html)?", trs_xxgk),
              Route(FDZDGK + "(?:index\\.html)?", trs_fdzdgk),
              *(_trs_list(c) for c in (NDBG, WZNDBB, CZYJS)),
              Route(XXGK + "(?:zfxxgkzn|zfxxgkzd)/(?:index\\.html)?", _empty))

# -- Hanweb: 淮安市人民政府 ------------------------------------------------------------------------

HANWEB_XXGK = "/col/col1000/index.html"
HANWEB_DECOYS = {1009: ("政府网站工作年度报表", "淮安市人民政府门户网站2023年政府网站工作年度报表"),
                 1010: ("财政预决算", "淮安市2024年市级部门预算")}


def _hanweb_page(title: str, body: str) -> Response:
    return html(f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="SiteName" content="{hanweb.AGENCY}">
<meta name="ColumnName" content="{escape(title)}"><title>{escape(title)} {hanweb.AGENCY}</title>
<script type="text/javascript" src="/module/jslib/jquery/jquery.js"></script></head>
<body><div class="top-nav"><a href="/col/col1/index.html">首页</a>
<a href="/col/col2/index.html">新闻中心</a><a href="{HANWEB_XXGK}">政务公开</a>
<a href="/col/col4/index.html">政务服务</a><a href="/col/col5/index.html">政民互动</a></div>
{body}
<div class="footer">主办：{hanweb.AGENCY}办公室 \
<a href="/col/col1009/index.html">政府网站工作年度报表</a></div>
</body></html>""", modified=MODIFIED)


def hanweb_home(req: Request, match) -> Response:
    return _hanweb_page(hanweb.AGENCY, '<div class="banner"><img src="/images/banner.jpg"></div>')


def hanweb_xxgk(req: Request, match) -> Response:
    tree = "".join(f'<li><a href="/col/col{col}/index.html" target="_self">{text}</a></li>'
                   for col, text in ((1002, "政府信息公开指南"), (1003, "政府信息公开制度"),
                                     (1001, "政府信息公开年报"), (1010, "财政预决算"),
                                     (1009, "政府网站工作年度报表")))
    return _hanweb_page("政府信息公开", f'<div class="xxgk-tree"><ul>{tree}</ul></div>')


def hanweb_decoy(req: Request, match) -> Response:
    name, title = HANWEB_DECOYS[int(match.group(1))]
    record = (f"<record><![CDATA[<li><a href='/art/2024/1/15/art_{match.group(1)}_1.html' "
              f"title='{title}'>{title}</a><span>2024-01-15</span></li>]]></record>")
    return _hanweb_page(name, f"""<div class="bt-list"><script type="text/xml"><datastore>
<recordset>{record}</recordset></datastore></script></div>""")


HANWEB_ROUTES = (Route("/", hanweb_home), Route(HANWEB_XXGK, hanweb_xxgk),
                 Route("/col/col(1009|1010)/index\\.html", hanweb_decoy))

# -- gkmlpt: 示例市人民政府 ------------------------------------------------------------------------

GKMLPT_ZWGK = "/zwgk/"
GKMLPT_DECOY_COLUMN = 2650  # 财政预决算 in the gkmlpt tree


def _gd_page(title: str, body: str) -> Response:
    return html(f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{escape(title)} - {gkmlpt.AGENCY}门户网站</title></head>
<body><div class="nav"><a href="/">首页</a><a href="/zwgk/">政务公开</a>
<a href="/gkmlpt/index">政府信息公开</a><a href="/bsfw/">办事服务</a>\
<a href="/hdjl/">互动交流</a></div>
{body}</body></html>""", modified=MODIFIED)


def gd_home(req: Request, match) -> Response:
    return _gd_page("首页", '<div class="banner"></div>')


def gd_zwgk(req: Request, match) -> Response:
    return _gd_page("政务公开", f"""<div class="zwgk-list"><ul>
<li><a href="/gkmlpt/index">政府信息公开目录</a></li>
<li><a href="/gkmlpt/annualreport#{gkmlpt.COLUMN_ID}">政府信息公开年报</a></li>
<li><a href="/gkmlpt/index#{GKMLPT_DECOY_COLUMN}">财政预决算</a></li>
<li><a href="/zwgk/wzbb/">政府网站工作年度报表</a></li></ul></div>""")


GKMLPT_ROUTES = (Route("/", gd_home), Route(GKMLPT_ZWGK + "(?:index\\.html)?", gd_zwgk))

# -- what discovery must find, and must not -------------------------------------------------------

COLUMNS = {"trs": (trs.COLUMN, trs.BMNB.path + "index.htm", trs.ZJ.path),
           "hanweb": (hanweb.COLUMN_PAGE,),
           "gkmlpt": (f"{gkmlpt.SHELL}#{gkmlpt.COLUMN_ID}",)}
DECOYS = {"trs": (NDBG.path, WZNDBB.path, CZYJS.path),
          "hanweb": ("/col/col1009/index.html", "/col/col1010/index.html"),
          "gkmlpt": (f"/gkmlpt/index#{GKMLPT_DECOY_COLUMN}", "/zwgk/wzbb/")}
DISALLOWED_COLUMNS = {"trs": (trs.LSNB.path,)}  # robots.txt: never fetched, never written
ROUTES = {"trs": TRS_ROUTES, "hanweb": HANWEB_ROUTES, "gkmlpt": GKMLPT_ROUTES}
