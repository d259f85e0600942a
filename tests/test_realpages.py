"""Real list pages, as portals served them, read by the adapters (no network).

A registry config whose list page was saved (tests/data/realpages) gets it as a fixture, named
in ``SAVED_LISTS``, and a test that its adapter still finds the reports there (the way scraper
projects pin each spider to a saved page). Saved news lists of real portals check the other
side: a column full of real titles that are not reports yields none.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

from crawlers.adapters import ADAPTERS, sniff
from crawlers.config import PortalConfig, load_configs, parse_config
from crawlers.detect import classify_title

ROOT = Path(__file__).resolve().parents[1]
SAVED = ROOT / "tests" / "data" / "realpages"
REGISTRY = {c.id: c for c in load_configs(ROOT / "crawlers" / "portals")}

# Registry config -> its saved list page.
SAVED_LISTS = {"ordos-egb": "trs_ordos_egb_xxgknb_list.html"}
# Saved news columns of real TRS portals (no registry config lists them): page URL as linked.
NEWS_PAGES = {"trs_yichun_zwyw_list.html": "http://www.yichun.gov.cn/zwgk/zwyw/",
              "trs_yzq_zwyw_list.html": "http://www.yzq.gov.cn/zwyw/"}

# What each saved registry list page holds: its reports (title, year) in list order, and the
# list pages it links next. Read off the saved page by hand.
EXPECTED_REPORTS = {
    "ordos-egb": {
        "reports": [("鄂尔多斯市2019年政府信息公开工作年度报告", 2019),
                    ("鄂尔多斯市人民政府办公室2019年政府信息公开工作年度报告", 2019),
                    ("鄂尔多斯市2018年政府信息公开年度报告", 2018),
                    ("内蒙古自治区2018年政府信息公开工作年度报告", 2018)],
        "entries": 10,
        "next": ["index_1.html"],
    },
}


def read_list(config: PortalConfig, page: Path):
    """The platform and the adapter's reading of a saved page served at the config's start URL."""
    response = HtmlResponse(url=config.start_urls[0], body=page.read_bytes(), encoding="utf-8")
    platform = config.platform if config.platform != "auto" else sniff(response)
    return platform, ADAPTERS[platform].parse_list(response, config)


def test_every_saved_list_belongs_to_a_registry_config_or_is_a_news_page() -> None:
    saved = {p.name for p in SAVED.glob("*.html")}
    assert saved == set(SAVED_LISTS.values()) | set(NEWS_PAGES)
    assert set(EXPECTED_REPORTS) == set(SAVED_LISTS) and set(SAVED_LISTS) <= set(REGISTRY)


@pytest.mark.parametrize("portal_id", sorted(EXPECTED_REPORTS))
def test_adapter_finds_the_reports_on_the_saved_list_page(portal_id: str) -> None:
    config = REGISTRY[portal_id]
    platform, listing = read_list(config, SAVED / SAVED_LISTS[portal_id])
    expected = EXPECTED_REPORTS[portal_id]
    assert platform == config.platform
    assert len(listing.entries) == expected["entries"]
    verdicts = [(e, classify_title(e.title, config.include, config.exclude))
                for e in listing.entries]
    assert [(e.title, v.year) for e, v in verdicts if v.is_report] == expected["reports"]
    start = config.start_urls[0]
    assert all(e.url.startswith(start) for e in listing.entries)  # resolved against the column
    assert [u.removeprefix(start) for u in listing.next_pages if u.rstrip("/") != start.rstrip("/")
            and not u.endswith("/index.html")] == expected["next"]


@pytest.mark.parametrize("page", sorted(NEWS_PAGES))
def test_real_news_column_yields_no_report(page: str) -> None:
    config = parse_config({"id": "news", "agency": "某", "start_urls": [NEWS_PAGES[page]]})
    platform, listing = read_list(config, SAVED / page)
    assert platform == "trs"
    assert len(listing.entries) >= 20  # uppercase tags and spacer rows still parse
    assert not [e.title for e in listing.entries if classify_title(e.title).is_report]
    assert len(listing.next_pages) >= 40  # createPageHTML(50 or 120, ...) paging


def test_yichun_config_is_the_column_its_site_links() -> None:
    """The yichun config's URL is the sidebar's 政府信息公开年度报告 link on the saved page."""
    page = "trs_yichun_zwyw_list.html"
    response = HtmlResponse(url=NEWS_PAGES[page], encoding="utf-8",
                            body=(SAVED / page).read_bytes())
    linked = {response.urljoin(a.attrib["href"]) for a in response.css("a[href]")
              if "政府信息公开年度报告" in "".join(a.css("::text").getall())}
    assert REGISTRY["yichun"].start_urls[0] in linked
