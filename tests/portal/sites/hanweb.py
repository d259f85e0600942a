"""Hanweb 大汉 JCMS: 淮安市人民政府's 政府信息公开年报 column.

What it tests: the column page ``/col/col1001/index.html`` carries only the first 15 of 102 records,
in ``<script type="text/xml"><datastore>`` CDATA, with the jpage call naming webid/columnid/unitid;
the rest come from ``/module/web/jpage/dataproxy.jsp`` (GET or POST), which honours ``page``,
ignores ``startrecord``/``endrecord``, caps ``perpage`` at 100 and answers an empty datastore to
ids it does not know. Articles ``/art/Y/M/D/art_1001_N.html`` keep the body in ``div#zoom``
between the ``<!--<$[信息内容]>begin-->`` markers. Attachments are
``/module/download/downfile.jsp?classid=0&filename=<32hex>.<ext>``: the readable name is only the
link text; one answers ``application/octet-stream`` with an RFC 5987 file name, another a raw-GBK
file name. robots.txt is the site's HTML error page, served with 200.
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from urllib.parse import quote

from tests.portal.content import Article, Attachment, page_images
from tests.portal.pages import article_body
from tests.portal.server import Request, Response, Route, SiteSpec, file, html, not_found

AGENCY = "淮安市人民政府"
COLUMN_ID, UNIT_ID, WEB_ID = 1001, 2001, 3
COLUMN_PAGE = f"/col/col{COLUMN_ID}/index.html"
PROXY = "/module/web/jpage/dataproxy.jsp"
DOWNFILE = "/module/download/downfile.jsp"
IN_PAGE = 15  # records in the column page's datastore (and jpage's perPage)
PERPAGE_CAP = 100

DEPARTMENTS = (
    "发展和改革委员会", "教育局", "科学技术局", "工业和信息化局", "民族宗教事务局", "公安局",
    "民政局", "司法局", "财政局", "人力资源和社会保障局", "自然资源和规划局", "生态环境局",
    "住房和城乡建设局", "城市管理局", "交通运输局", "水利局", "农业农村局", "商务局",
    "文化广电和旅游局", "卫生健康委员会", "退役军人事务局", "应急管理局", "审计局",
    "市场监督管理局", "体育局", "统计局", "医疗保障局", "数据局", "政务服务管理办公室", "信访局",
    "地方金融监督管理局", "机关事务管理局")


def _path(day: str, number: int) -> str:
    d = date.fromisoformat(day)
    return f"/art/{d.year}/{d.month}/{d.day}/art_{COLUMN_ID}_{number}.html"


def _downfile(hex_name: str) -> str:
    return f"{DOWNFILE}?classid=0&filename={hex_name}"


def _title(agency: str, year: int, n: int) -> str:
    """Title variants seen on real columns: 年度 after the year, or the year first."""
    if n % 7 == 5:
        return f"{year}年{agency}政府信息公开工作年度报告"
    return f"{agency}{year}年{'度' if n % 5 == 3 else ''}政府信息公开工作年度报告"


def _published(year: int, n: int) -> date:
    """When department ``n`` published its report for ``year``: within January (the legal
    deadline for departments is 31 January), except one late department a year, as on real
    columns, so the demo's timeliness (W2) failures are few and real."""
    if n == (year - 2021) * 11:
        return date(year + 1, 2, 20)
    return date(year + 1, 1, 6) + timedelta(days=(5 * n) % 24)


def _bulk() -> list[Article]:
    rows = []
    for year in (2021, 2022, 2023):
        for n, department in enumerate(DEPARTMENTS):
            agency = f"淮安市{department}"
            day = _published(year, n).isoformat()
            rows.append(Article(_path(day, 4000 + (year - 2021) * 100 + n), _title(agency, year, n),
                                day, agency=agency, year=year, tables=True))
    return rows


_2024 = f"{AGENCY}2024年政府信息公开工作年度报告"
REPORT_2024 = _path("2025-03-28", 5101)
HA24 = Attachment(_downfile("8c1f0e5d2b7a4c93a6e1d0f4b2c9e7a1.pdf"), "huaian_city_2024.pdf",
                  f"{_2024}.pdf")
HA24_SCAN = Attachment(_downfile("5d0e7c1a9b3f4e28a6c2d1b0f9e8a7c3.pdf"), "huaian_city_2024.pdf",
                       f"{_2024}（扫描件）.pdf", scanned=True)
TEMPLATE = Attachment(_downfile("2744946c3924484685880c1e225222d1.docx"),
                      "template_2021_blank.docx", "中华人民共和国政府信息公开工作年度报告格式.docx")

SPECIAL = (
    Article(REPORT_2024, _2024, "2025-03-28", agency=AGENCY, year=2024, attachments=(HA24,)),
    Article(_path("2025-03-28", 5102), f"{_2024}（图片版）", "2025-03-28", kind="variant",
            agency=AGENCY, year=2024, same_as=REPORT_2024, images_of="huaian_city_2024.pdf",
            why="（图片版）: the same report as page images"),
    Article(_path("2025-03-28", 5103), f"{_2024}（全文）", "2025-03-28", kind="variant",
            agency=AGENCY, year=2024, same_as=REPORT_2024, attachments=(HA24_SCAN,),
            why="（全文）: the same report as a scanned PDF (image-only pages)"),
    Article(_path("2025-01-06", 5001), "关于做好2024年政府信息公开工作年度报告编制和发布工作的通知",
            "2025-01-06", kind="decoy", why="drafting notice (编制工作的通知)"),
    Article(_path("2024-03-20", 4901), "淮安市2023年法治政府建设年度报告", "2024-03-20",
            kind="decoy", why="法治政府建设年度报告"),
    Article(_path("2024-02-02", 4801), "淮安市财政局2024年部门预算", "2024-02-02", kind="decoy",
            why="部门预算"),
    Article(_path("2021-12-20", 3901),
            "淮安市人民政府办公室转发国务院办公厅政府信息与政务公开办公室关于印发"
            "《中华人民共和国政府信息公开工作年度报告格式》的通知", "2021-12-20", kind="decoy",
            attachments=(TEMPLATE,), why="format notice with the blank template as a DOCX"),
)
ARTICLES = tuple(sorted((*SPECIAL, *_bulk()), key=lambda a: (a.date, a.path), reverse=True))
MODIFIED = ARTICLES[0].day
_PUBLISHED = {a.path: a for a in ARTICLES}
_FILES = {att.path.split("filename=")[1]: (att, a) for a in ARTICLES for att in a.attachments}
# What each download answers: (Content-Type, Content-Disposition), as the real gateways vary.
_RFC5987 = "attachment; filename*=UTF-8''" + quote(HA24.name)
_RAW_GBK = 'attachment; filename="' + TEMPLATE.name.encode("gbk").decode("latin-1") + '"'
_DOWNLOAD_HEADERS = {
    HA24.path: ("application/octet-stream", _RFC5987),
    HA24_SCAN.path: ("application/pdf", _RFC5987),
    TEMPLATE.path: ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    _RAW_GBK),
}


def _record(a: Article) -> str:
    return (f"<record><![CDATA[<li><a href='{a.path}' title='{escape(a.title)}' target='_blank'>"
            f"{escape(a.title)}</a><span>{a.date}</span></li>]]></record>")


def _proxy_link(page: int) -> str:
    return (f'<a href="{PROXY}?page={page}&appid=1&webid={WEB_ID}&path=/&columnid={COLUMN_ID}'
            f'&unitid={UNIT_ID}&webname={AGENCY}&permissiontype=0"></a>')


def column_page(req: Request, match) -> Response:
    records = "\n".join(_record(a) for a in ARTICLES[:IN_PAGE])
    return html(f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="SiteName" content="{AGENCY}">
<meta name="ColumnName" content="政府信息公开年报"><title>政府信息公开年报 {AGENCY}</title>
<script type="text/javascript" src="/module/jslib/jquery/jquery.js"></script>
<script type="text/javascript" src="/module/web/jpage/jpage.js"></script></head>
<body><div class="bt-position">当前位置：<a href="/">首页</a>
  &gt; <a href="{COLUMN_PAGE}">政府信息公开年报</a></div>
<div class="bt-list"><div id="{UNIT_ID}"><script type="text/xml"><datastore>
<nextgroup><![CDATA[{_proxy_link(1)}]]></nextgroup>
<recordset>
{records}
</recordset></datastore></script></div>
<script>$('#{UNIT_ID}').jpage({{themeName:'default',showMode:'full',totalRecord:{len(ARTICLES)},openCookies:false,groupSize:3,proxyUrl:'{PROXY}',perPage:{IN_PAGE},barPosition:'bottom',ajaxParam:{{col:1,appid:'1',webid:{WEB_ID},path:'/',columnid:{COLUMN_ID},unitid:'{UNIT_ID}',webname:'{AGENCY}',permissiontype:0}}}});</script>
</div></body></html>""", modified=MODIFIED)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def dataproxy(req: Request, match) -> Response:
    """``page`` and ``perpage`` (capped) select the records; startrecord/endrecord are ignored."""
    form = req.form
    ours = (form.get("columnid"), form.get("unitid"), form.get("webid")) == (
        str(COLUMN_ID), str(UNIT_ID), str(WEB_ID))
    records = ARTICLES if ours else ()
    perpage = min(max(_int(form.get("perpage"), IN_PAGE), 1), PERPAGE_CAP)
    page = max(_int(form.get("page"), 1), 1)
    chosen = records[(page - 1) * perpage: page * perpage]
    pages = -(-len(records) // perpage)
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n'
            f"<nextgroup><![CDATA[{_proxy_link(page + 1) if page < pages else ''}]]></nextgroup>\n"
            f"<totalrecord>{len(records)}</totalrecord>\n<totalpage>{pages}</totalpage>\n"
            "<recordset>\n" + "\n".join(_record(a) for a in chosen)
            + "\n</recordset>\n</datastore>")
    return Response(200, body.encode("utf-8"), "text/xml;charset=UTF-8")


def render(article: Article) -> bytes:
    links = "".join(f'<p>附件：<a href="{att.path}"><img src="/module/jslib/icons/'
                    f'{att.path.rsplit(".", 1)[1]}.png"/>{escape(att.name)}</a></p>'
                    for att in article.attachments)
    source = article.agency if article.agency and article.tables else f"{AGENCY}办公室"
    title = escape(article.title)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta name="SiteName" content="{AGENCY}"><meta name="SiteDomain" content="hanweb.fixture.gov.cn">
<meta name="SiteIDCode" content="3208000001"><meta name="ColumnName" content="政府信息公开年报">
<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{article.date} 16:20">
<meta name="ContentSource" content="{escape(source)}">
<title>{title}</title></head>
<body><div class="bt-position">当前位置：<a href="/">首页</a>
  &gt; <a href="{COLUMN_PAGE}">政府信息公开年报</a></div>
<div class="article"><h1 class="title">{title}</h1>
<div class="info">时间：{article.date} 16:20 来源：{escape(source)} 字号：默认 小 大</div>
<div id="zoom">
<!--<$[信息内容]>begin--><!--ZJEG_RSS.content.begin--><meta name="ContentStart">
{article_body(article)}
<meta name="ContentEnd"><!--ZJEG_RSS.content.end--><!--<$[信息内容]>end-->
</div>
<div class="fj">{links}</div></div>
</body></html>""".encode()


def published(req: Request, match) -> Response:
    article = _PUBLISHED.get(req.path)
    if article is None:
        return not_found()
    return Response(200, render(article), "text/html; charset=utf-8", modified=article.day)


_IMAGES = {path: (a, n) for a in ARTICLES for n, path in enumerate(a.image_paths())}


def page_image(req: Request, match) -> Response:
    """A page picture of a 图片版 article."""
    found = _IMAGES.get(req.path)
    if found is None:
        return not_found()
    article, n = found
    return file(page_images(article.images_of or "")[n], "image/jpeg", modified=article.day)


def downfile(req: Request, match) -> Response:
    found = _FILES.get(req.query.get("filename", ""))
    if found is None or req.query.get("classid") != "0":
        return not_found()
    att, article = found
    content_type, disposition = _DOWNLOAD_HEADERS[att.path]
    return file(att.data, content_type, modified=article.day,
                headers=[("Content-Disposition", disposition)])


ERROR_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>页面不存在</title></head>
<body><div class="error"><img src="/images/404.png"/><p>抱歉，您访问的页面不存在或已删除！</p>
<p><a href="/">返回首页</a></p></div></body></html>"""


def robots(req: Request, match) -> Response:
    """No robots.txt: the CMS answers its error page with 200 (treat as "no robots")."""
    return html(ERROR_PAGE)


SITE = SiteSpec(
    name="hanweb", address="127.0.0.13", portal_id="fixture-hanweb", agency=AGENCY,
    start=COLUMN_PAGE, family="hanweb",
    routes=(Route("/robots\\.txt", robots), Route(COLUMN_PAGE, column_page),
            Route(PROXY.replace(".", "\\."), dataproxy, ("GET", "HEAD", "POST")),
            Route(DOWNFILE.replace(".", "\\."), downfile), Route("/art/.*\\.jpg", page_image),
            Route("/art/.*", published)),
    articles=ARTICLES, render=render,
)
