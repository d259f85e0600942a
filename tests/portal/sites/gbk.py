"""TRS WCM, GBK: 淮安市洪泽区人民政府's older site.

What it tests: pages encoded GBK that declare ``<meta … charset=gb2312>`` while the HTTP header
carries no charset at all; one list page (index_2.shtml) whose header says ``charset=utf-8`` over
GBK bytes; characters outside GB2312 (镕 in a title, 堃 in a page), which only gbk/gb18030 decode;
Hunan-style 1-based paging ``createPageHTML('paging',2,1,'index','shtml',8)`` where page 2 is
``index_2.shtml`` and ``index_1.shtml`` does not exist; ``.shtml`` articles; a list row that links
straight to a PDF (no article page).
"""

from __future__ import annotations

from datetime import date

from tests.portal.content import Article, Attachment
from tests.portal.server import Request, Response, Route, SiteSpec, file, not_found
from tests.portal.sites.trs import Column, article_page, list_page, list_rows

H = "洪泽区"
AGENCY = "淮安市洪泽区人民政府"
COLUMN = "/zwgk/zfxxgknb/"
MODIFIED = date(2025, 3, 28)
MISLABELLED_PAGE = 2  # index_2.shtml: header says utf-8, bytes are GBK


def _a(path: str, title: str, day: str, **kw: object) -> Article:
    return Article(COLUMN + path, title, day, **kw)  # type: ignore[arg-type]


def _report(path: str, agency: str, year: int, day: str) -> Article:
    return _a(path, f"{agency}{year}年政府信息公开工作年度报告", day, agency=agency, year=year,
              tables=True)


_2024 = f"{AGENCY}2024年政府信息公开工作年度报告"
_2023 = f"{H}人民政府2023年政府信息公开工作年度报告"
BARE_2024 = Attachment(COLUMN + "202503/P020250328601234567890.pdf", "hongze_district_2024.pdf",
                       f"{_2024}.pdf")
RONGHU = f"{H}镕湖街道"  # 镕 is outside GB2312

COLUMN_SPEC = Column(COLUMN, "政府信息公开年报", "shtml", 6, (
    Article(BARE_2024.path, _2024, "2025-03-28", agency=AGENCY, year=2024, bare=True,
            attachments=(BARE_2024,)),
    _a("202403/t20240329_2000031.shtml", _2023, "2024-03-29", agency=f"{H}人民政府", year=2023,
       attachments=(Attachment(COLUMN + "202403/P020240329612345678901.pdf",
                               "hongze_district_2023.pdf", f"{_2023}.pdf"),)),
    _a("202403/t20240315_2000029.shtml", f"{H}2023年法治政府建设年度报告", "2024-03-15",
       kind="decoy", why="法治政府建设年度报告"),
    _a("202403/t20240305_2000027.shtml", f"关于印发《{H}2024年政务公开工作要点》的通知",
       "2024-03-05", kind="decoy", why="政务公开工作要点 notice"),
    _report("202301/t20230130_2000019.shtml", f"{H}老子山镇", 2022, "2023-01-30"),
    _report("202301/t20230129_2000018.shtml", f"{H}三河镇", 2022, "2023-01-29"),
    # index_2.shtml (mislabelled utf-8)
    _report("202301/t20230120_2000016.shtml", RONGHU, 2022, "2023-01-20"),
    _report("202201/t20220125_2000009.shtml", f"{H}高良涧街道", 2021, "2022-01-25"),
))
ARTICLES = COLUMN_SPEC.articles
_PUBLISHED = {a.path: a for a in ARTICLES if not a.bare}
_FILES = {att.path: (att, a) for a in ARTICLES for att in a.attachments}


def render(article: Article) -> bytes:
    source = article.agency if article.agency and article.kind == "report" else f"{H}人民政府办公室"
    editor = '<div class="editor">责任编辑：王堃</div>'  # 堃 is outside GB2312
    return article_page(article, site_name=AGENCY, column_name=COLUMN_SPEC.name, charset="gb2312",
                        source=source, site_code="3208130001", extra=editor).encode("gbk")


def list_handler(req: Request, match) -> Response:
    pages = COLUMN_SPEC.pages()
    number = int(match.group(1) or 1)  # 1-based: index.shtml is page 1, then index_2.shtml …
    if number > len(pages) or match.group(1) == "1":
        return not_found()
    total = sum(len(p) for p in pages)
    paging = (f'<div id="paging"></div><script>createPageHTML(\'paging\',{len(pages)},{number},'
              f"'index','shtml',{total});</script>")
    text = list_page(AGENCY, COLUMN_SPEC, list_rows(req, COLUMN_SPEC, pages[number - 1]), paging,
                     "gb2312", ((COLUMN, "政府信息公开年报"),))
    header = "text/html; charset=utf-8" if number == MISLABELLED_PAGE else "text/html"
    return Response(200, text.encode("gbk"), header, modified=MODIFIED)


def published(req: Request, match) -> Response:
    if req.path in _PUBLISHED:
        article = _PUBLISHED[req.path]
        return Response(200, render(article), "text/html", modified=article.day)
    if req.path in _FILES:
        att, article = _FILES[req.path]
        return file(att.data, "application/pdf", modified=article.day)
    return not_found()


PAGE_JS = """function createPageHTML(_sId, _nPageCount, _nCurrPage, _sPageName, \
_sPageExt, _nRecords) {
  var el = document.getElementById(_sId), out = "共" + _nRecords + "条 ";
  if (_nCurrPage > 1) {
    var back = _nCurrPage == 2 ? _sPageName : _sPageName + "_" + (_nCurrPage - 1);
    out += "<a href=\\"" + back + "." + _sPageExt + "\\">上一页</a> ";
  }
  if (_nCurrPage < _nPageCount)
    out += "<a href=\\"" + _sPageName + "_" + (_nCurrPage + 1) + "." + _sPageExt + "\\">下一页</a>";
  el.innerHTML = out;
}
"""


def page_js(req: Request, match) -> Response:
    return Response(200, PAGE_JS.encode(), "application/javascript", modified=MODIFIED)


def robots(req: Request, match) -> Response:
    return Response(200, b"User-agent: *\nAllow: /\n", "text/plain")


def home(req: Request, match) -> Response:
    text = f'<html><head><meta charset="gb2312"><title>{AGENCY}</title></head><body>' \
           f'<a href="{COLUMN}">政府信息公开年报</a></body></html>'
    return Response(200, text.encode("gbk"), "text/html", modified=MODIFIED)


SITE = SiteSpec(
    name="gbk", address="127.0.0.12", portal_id="fixture-gbk", agency=AGENCY,
    start=COLUMN + "index.shtml", family="trs",
    routes=(Route("/robots\\.txt", robots), Route("/", home),
            Route("/images/createPageHTML\\.js", page_js),
            Route(f"{COLUMN}(?:index(?:_(\\d+))?\\.shtml)?", list_handler),
            Route("/.*", published)),
    articles=ARTICLES, render=render,
)
