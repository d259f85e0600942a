"""What real portals taught the crawler: paging scripts, report titles, challenge pages, article
metadata. Real pages are in tests/data/realpages and tests/portal/realpages."""

from __future__ import annotations

from pathlib import Path

import pytest
from parsel import Selector
from scrapy.http import HtmlResponse, Request

from crawlers.adapters import sniff, trs
from crawlers.antibot import challenge_vendor
from crawlers.article import attachment_extension, parse_article
from crawlers.config import parse_config
from crawlers.detect import classify_title

REAL = Path(__file__).parent / "data" / "realpages"
CHALLENGES = Path(__file__).parent / "portal" / "realpages"


def real_page(name: str, url: str = "http://www.example.gov.cn/col/index.html") -> HtmlResponse:
    body = (REAL / name).read_bytes()
    return HtmlResponse(url=url, body=body, encoding="utf-8", request=Request(url))


def scripts(response: HtmlResponse) -> str:
    return "\n".join(Selector(text=response.text).css("script::text").getall())


@pytest.mark.parametrize("name,pages", [("trs_yichun_zwyw_list.html", 50),
                                        ("trs_yzq_zwyw_list.html", 120),
                                        ("trs_ordos_egb_xxgknb_list.html", 2)])
def test_trs_paging_from_real_list_pages(name: str, pages: int) -> None:
    """The function's own definition (arguments are names) precedes the call; ordos pages by
    ``var countPage = 2``."""
    response = real_page(name)
    urls = trs.page_urls(scripts(response), response.url)
    assert len(urls) == pages and urls[1].endswith("/col/index_1.html")


@pytest.mark.parametrize("script,expected", [
    ('createPageHTML(3, 0, "index", "shtml");', ["index.shtml", "index_1.shtml", "index_2.shtml"]),
    ("createPageHTML('paging',3,1,'index','html',50);", ["index.html", "index_2.html",
                                                          "index_3.html"]),  # Hunan, 1-based
    ('pageControl(2, 0, "index", "htm", 10, "pages-nav");', ["index.htm", "index_1.htm"]),
    ('//createPageHTML(9, 0, "index", "html");\nvar countPage = 2;', ["index.html",
                                                                       "index_1.html"]),
])
def test_trs_paging_call_forms(script: str, expected: list[str]) -> None:
    urls = trs.page_urls(script, "http://h.gov.cn/a/index.html")
    assert [u.rsplit("/", 1)[1] for u in urls] == expected


def test_real_trs_list_yields_its_reports() -> None:
    response = real_page("trs_ordos_egb_xxgknb_list.html")
    assert sniff(response) == "trs"
    config = parse_config({"id": "ordos", "agency": "鄂尔多斯市人民政府",
                           "start_urls": [response.url]})
    entries = trs.parse_list(response, config).entries
    reports = [e for e in entries if classify_title(e.title).is_report]
    assert {e.title for e in reports} >= {"鄂尔多斯市2019年政府信息公开工作年度报告",
                                          "鄂尔多斯市人民政府办公室2019年政府信息公开工作年度报告"}
    assert all(classify_title(e.title).is_report is False for e in entries
               if "工作会" in (e.title or ""))


@pytest.mark.parametrize("title,agency,year", [
    ("2022年上海市政府信息公开工作年度报告", "上海市", 2022),
    ("北京市市场监督管理局2023年政府信息公开工作年度报告", "北京市市场监督管理局", 2023),
    ("重庆市大足区人民政府办公室 2023年政府信息公开工作年度报告", "重庆市大足区人民政府办公室",
     2023),
    ("宿迁市 2025 年政府信息公开工作年度报告", "宿迁市", 2025),
    ("上海市静安区地区工作办公室 2023年度政府信息公开工作年度报告", "上海市静安区地区工作办公室",
     2023),
    ("市扶农办2016年度政府信息公开工作报告", "市扶农办", 2016),
    ("2022年政府信息公开工作年度报告", None, 2022),
])
def test_report_titles(title: str, agency: str | None, year: int) -> None:
    verdict = classify_title(title)
    assert verdict.is_report and (verdict.agency, verdict.year) == (agency, year)


@pytest.mark.parametrize("title,variant", [
    ("宿州市人民政府2019年政府信息公开工作年度报告（图片版）", "图片版"),
    ("上海市黄浦区2022年政府信息公开工作年度报告（超链版）", "超链版"),
])
def test_variants_are_flagged(title: str, variant: str) -> None:
    verdict = classify_title(title)
    assert verdict.is_report and verdict.variant == variant and verdict.year


@pytest.mark.parametrize("title", [
    "政府信息公开年报",
    "2024年北京市“政府信息公开工作年度报告”集中公开专题页面",
    "国务院办公厅政府信息与政务公开办公室关于印发《中华人民共和国政府信息公开工作年度报告格式》的通知",
    "关于做好2023年政府信息公开工作年度报告编制工作的通知",
    "政府信息公开年度报告制度",
    "某某区2024年部门预算",
    "某某市2023年法治政府建设年度报告",
])
def test_decoys_are_not_reports(title: str) -> None:
    assert not classify_title(title).is_report


def test_portal_patterns_extend_the_defaults() -> None:
    assert classify_title("某某局年报2023", include=(r"年报\d{4}",)).is_report
    assert not classify_title("某某县2023年政府信息公开工作年度报告（征求意见稿）").is_report
    assert not classify_title("某某县2023年政府信息公开工作年度报告",
                              exclude=("某某县",)).is_report


@pytest.mark.parametrize("name,status,vendor", [
    ("ruishu_nmpa_412.html", 412, "ruishu"),
    ("ruishu_cnipa_2020.html", 202, "ruishu"),
    ("jiasule_mps_521.html", 521, "jiasule"),
])
def test_real_challenge_pages(name: str, status: int, vendor: str) -> None:
    response = HtmlResponse(url="http://x.gov.cn/", status=status,
                            body=(CHALLENGES / name).read_bytes(), encoding="utf-8")
    assert challenge_vendor(response) == vendor


def test_safedog_by_header_and_ordinary_pages_pass() -> None:
    blocked = HtmlResponse(url="http://x/", status=403, headers={"Server": "Safedog"}, body=b"")
    assert challenge_vendor(blocked) == "safedog"
    ordinary = real_page("trs_yichun_zwyw_list.html")
    assert challenge_vendor(ordinary) is None


def test_article_metadata_with_spaced_labels_and_script_attachments() -> None:
    html = """<html><head><title>某县2023年政府信息公开工作年度报告_某县人民政府</title></head>\
<body>
    <table><tr><td>索 引 号：</td><td>11320100/2024-00012</td>\
<td>发布机构：</td><td>县政府办</td></tr>
    <tr><td>发布日期：</td><td>2024年01月26日</td></tr></table>
    <script>if("附件1.pdf" != ""){\
document.write('<a href="./P020240126123456789012.pdf">附件1.pdf</a>');}
    document.write('<a href="http://share.example.com/x.pdf">镜像</a>');</script>
    <a \
href="/module/download/downfile.jsp?classid=0&filename=2744946c3924484685880c1e225222d1.docx">
    年度报告.docx</a></body></html>"""
    article = parse_article(html, "http://www.x.gov.cn/zfxxgk/zfxxgknb/202401/t20240126_1.html")
    assert article.title == "某县2023年政府信息公开工作年度报告"
    assert (article.index_number, article.publisher, article.publish_date) == (
        "11320100/2024-00012", "县政府办", "2024-01-26")
    names = {a.url.rsplit("/", 1)[-1]: a.name for a in article.attachments}
    assert names["P020240126123456789012.pdf"] == "附件1.pdf"
    assert any(a.name == "年度报告.docx" and attachment_extension(a.url) == "docx"
               for a in article.attachments)
