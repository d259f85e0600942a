"""Smoke tests of the local test portal (tests/portal): each site serves what expected.py states."""

from __future__ import annotations

import hashlib
import json
import socket
import urllib.error
import urllib.request
from email.message import Message

import pytest
import yaml
from scrapy.http import HtmlResponse

from crawlers.antibot import challenge_vendor
from tests.portal import fixtures
from tests.portal.content import DATA
from tests.portal.expected import EXPECTED, OFFSITE
from tests.portal.fixtures import write_configs
from tests.portal.server import Portal
from tests.portal.sites import gbk, gkmlpt, hanweb, trs

portal = fixtures.portal  # the running portal, one per session
fresh_portal = fixtures.fresh_portal  # ... with an empty log and the stateful pages reset


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None  # hand the 3xx back instead of following it


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch(url: str, data: bytes | None = None, timeout: float = 5.0,
          **headers: str) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_every_site_listens_on_its_own_address(portal: Portal) -> None:
    for name, expected in EXPECTED.items():
        assert portal.base_url(name) == f"http://{expected.address}:{portal.port}"
        url = portal.url(name, expected.start.split("#")[0])
        status, headers, body = fetch(url)
        if expected.blocked:  # the challenge of its vendor, as the crawler recognises it
            answer = HtmlResponse(url, status=status, body=body,
                                  headers=[(k, v) for k, v in headers.items()])
            assert challenge_vendor(answer) == expected.blocked, name
        else:
            assert status == 200 and b"<html" in body.lower(), name


@pytest.mark.parametrize("site", [s for s, e in EXPECTED.items() if not e.blocked])
def test_every_expected_report_is_served_with_its_sha256(portal: Portal, site: str) -> None:
    slow = {i.path for i in EXPECTED[site].incidents if i.reason == "slow"}
    for report in EXPECTED[site].reports:
        if report.page in slow:
            continue
        for _attempt in range(2):  # the 500 and 503 pages fail once
            status, _, body = fetch(portal.url(site, report.page))
            if status == 200:
                break
        assert status == 200, report.page
        if report.page_sha256:
            assert hashlib.sha256(body).hexdigest() == report.page_sha256, report.page
        for document in report.attachments:
            status, _, data = fetch(portal.url(site, document.path))
            assert (status, hashlib.sha256(data).hexdigest()) == (200, document.sha256)
    for duplicate in EXPECTED[site].duplicates:
        status, _, body = fetch(portal.url(site, duplicate.path))
        assert (status, hashlib.sha256(body).hexdigest()) == (200, duplicate.sha256)


def test_real_documents_carry_their_answer_keys_agency() -> None:
    keyed = [r for e in EXPECTED.values() for r in e.reports if r.key]
    assert {r.key for r in keyed} == {"weihai_2020", "hongze_district_2023", "hongze_district_2024",
                                      "huaian_city_2024", "shanghai_gov_office_2019"}
    for report in keyed:
        key = json.loads((DATA / "keys" / f"{report.key}.json").read_text(encoding="utf-8"))
        assert (report.agency, report.year) == (key["agency"], key["year"])


def test_one_html_report_breaks_r1() -> None:
    broken = [r for e in EXPECTED.values() for r in e.reports if "R1" in r.failing_checks]
    assert len(broken) == 1 and broken[0].cells is not None
    cells = broken[0].cells
    lhs = cells["requests/new/natural_person"] + cells["requests/carried_over/natural_person"]
    rhs = cells["requests/total/natural_person"] + cells["requests/carried_forward/natural_person"]
    assert lhs != rhs


def test_downfile_attachment_name_is_only_in_the_link_text(portal: Portal) -> None:
    status, headers, data = fetch(portal.url("hanweb", hanweb.HA24.path))
    assert status == 200 and data.startswith(b"%PDF")
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment; filename*=UTF-8''%E6%B7%AE")
    _, _, page = fetch(portal.url("hanweb", hanweb.REPORT_2024))
    assert f'{hanweb.HA24.path}"><img'.encode() in page and hanweb.HA24.name.encode() in page
    _, headers, _ = fetch(portal.url("hanweb", hanweb.TEMPLATE.path))
    raw = headers["Content-Disposition"].encode("latin-1")  # the header is raw GBK bytes
    assert "年度报告格式".encode("gbk") in raw


def test_dataproxy_honours_page_ignores_startrecord_caps_perpage(portal: Portal) -> None:
    ids = f"columnid={hanweb.COLUMN_ID}&unitid={hanweb.UNIT_ID}&webid={hanweb.WEB_ID}"
    proxy = portal.url("hanweb", hanweb.PROXY)
    _, _, second = fetch(f"{proxy}?page=2&perpage=100&{ids}")
    assert second.count(b"<record>") == len(hanweb.ARTICLES) - 100
    assert f"<totalrecord>{len(hanweb.ARTICLES)}<".encode() in second
    _, _, capped = fetch(f"{proxy}?page=1&perpage=5000&{ids}")
    assert capped.count(b"<record>") == 100
    _, _, posted = fetch(f"{proxy}?startrecord=16&endrecord=30&perpage=15", data=ids.encode())
    _, _, first = fetch(portal.url("hanweb", hanweb.COLUMN_PAGE))
    assert posted.split(b"<record>")[1] == first.split(b"<record>")[1]  # still page 1
    _, _, unknown = fetch(f"{proxy}?page=1&columnid=1&unitid=1&webid=1")
    assert b"<totalrecord>0<" in unknown


def test_gkmlpt_api_pages_by_100_with_total_below_post_count(portal: Portal) -> None:
    api = portal.url("gkmlpt", gkmlpt.API)
    first = json.loads(fetch(f"{api}?page=1&sid={gkmlpt.SID}")[2])
    second = json.loads(fetch(f"{api}?page=2&sid={gkmlpt.SID}")[2])
    assert len(first["articles"]) == 100 and second["offset"] == 100
    assert first["total"] == len(gkmlpt.ARTICLES) < first["classify"]["post_count"]
    assert first["articles"][0]["url"].startswith("//127.0.0.14:")
    rows = first["articles"] + second["articles"]
    assert [r["type"] for r in rows].count("url") == 1
    assert any("年度报告" in r["title"] and r["type"] == "normal" for r in second["articles"])
    assert fetch(f"{api}?page=1")[0] == 404  # sid is required


def test_gbk_pages_declare_charset_only_in_meta_and_one_is_mislabelled(portal: Portal) -> None:
    _, headers, page1 = fetch(portal.url("gbk", gbk.SITE.start))
    assert headers["Content-Type"] == "text/html" and b"charset=gb2312" in page1
    assert b"createPageHTML('paging',2,1,'index','shtml'," in page1
    _, headers, page2 = fetch(portal.url("gbk", gbk.COLUMN + "index_2.shtml"))
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    with pytest.raises(UnicodeDecodeError):
        page2.decode("utf-8")
    assert gbk.RONGHU in page2.decode("gbk") and "镕" not in page2.decode("gb2312", "replace")
    assert fetch(portal.url("gbk", gbk.COLUMN + "index_1.shtml"))[0] == 404  # 1-based paging


def test_robots(portal: Portal) -> None:
    status, headers, body = fetch(portal.url("trs", "/robots.txt"))
    assert status == 200 and headers["Content-Type"] == "text/plain"
    assert f"Disallow: {trs.LSNB.path}".encode() in body
    status, headers, body = fetch(portal.url("hanweb", "/robots.txt"))
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b"<html" in body
    assert fetch(portal.url("static", "/robots.txt"))[0] == 404


def test_500_and_503_fail_once_then_serve(fresh_portal: Portal) -> None:
    by_reason = {i.reason: i.path for i in EXPECTED["errors"].incidents}
    url = fresh_portal.url("errors", by_reason["http_500"])
    assert [fetch(url)[0], fetch(url)[0]] == [500, 200]
    url = fresh_portal.url("errors", by_reason["http_503"])
    status, headers, _ = fetch(url)
    assert (status, headers["Retry-After"]) == (503, "1")
    assert fetch(url)[0] == 200
    fresh_portal.reset()
    assert fetch(url)[0] == 503


def test_error_pages(fresh_portal: Portal) -> None:
    by_reason = {i.reason: i.path for i in EXPECTED["errors"].incidents}
    assert fetch(fresh_portal.url("errors", by_reason["404"]))[0] == 404
    status, _, body = fetch(fresh_portal.url("errors", by_reason["soft_404"]))
    assert status == 200 and len(body) < 2048 and "页面不存在" in body.decode()
    status, headers, _ = fetch(fresh_portal.url("errors", by_reason["offsite_redirect"]))
    assert status == 302 and headers["Location"].startswith(fresh_portal.base_url(OFFSITE))
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        fetch(fresh_portal.url("errors", by_reason["slow"]), timeout=0.5)
    assert fresh_portal.log.hits(OFFSITE) == []


def test_conditional_requests_answer_304(portal: Portal) -> None:
    for site, path in (("trs", trs.REPORT_2023), ("trs", trs.WEIHAI_2020[0].path),
                       ("trs", trs.COLUMN + "index.html")):
        status, headers, _ = fetch(portal.url(site, path))
        assert status == 200 and headers["ETag"] and headers["Last-Modified"]
        assert fetch(portal.url(site, path), **{"If-None-Match": headers["ETag"]})[0] == 304
        since = {"If-Modified-Since": headers["Last-Modified"]}
        assert fetch(portal.url(site, path), **since)[0] == 304
        assert fetch(portal.url(site, path), **{"If-None-Match": '"stale"'})[0] == 200


def test_challenges(portal: Portal) -> None:
    status, headers, body = fetch(portal.url("ruishu", "/robots.txt"))
    assert status == 412 and b"$_ts=window['$_ts']" in body and b"r='m'" in body
    assert headers["Set-Cookie"].split("=")[0].endswith("S")
    status, _, body = fetch(portal.url("ruishu202", "/"))
    assert status == 202 and b"r='m'" in body
    status, headers, body = fetch(portal.url("jiasule", "/zwgk/zfxxgknb/index.html"))
    assert status == 521 and headers["X-Via-JSL"] and "__jsluid_s=" in headers["Set-Cookie"]
    assert b"document.cookie=" in body
    status, headers, _ = fetch(portal.url("safedog", "/zwgk/zfxxgknb/index.html"))
    assert (status, headers["Server"]) == (403, "Safedog")
    assert headers["Set-Cookie"].startswith("safedog-flow-item=")


def test_request_log_records_hosts_headers_and_concurrency(fresh_portal: Portal) -> None:
    fetch(fresh_portal.url("static", "/nw12344/index.html"), **{"User-Agent": "nianbao-test"})
    (hit,) = fresh_portal.log.hits("static")
    assert hit.host == f"127.0.0.15:{fresh_portal.port}" and hit.path == "/nw12344/index.html"
    assert hit.headers["User-Agent"] == "nianbao-test" and hit.end >= hit.start
    assert fresh_portal.log.max_in_flight("static") == 1
    assert fresh_portal.log.sites() == {"static"}


def test_write_configs(portal: Portal, tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = write_configs(portal, tmp_path)
    configs = {c["id"]: c for c in (yaml.safe_load(p.read_text(encoding="utf-8")) for p in paths)}
    assert set(configs) == {e.portal_id for e in EXPECTED.values()}
    trs_config = configs["fixture-trs"]
    assert trs_config == {"id": "fixture-trs", "agency": EXPECTED["trs"].agency, "platform": "auto",
                          "start_urls": [portal.url("trs", "/zfxxgk/zfxxgknb/index.html")]}
    assert configs["fixture-gkmlpt"]["start_urls"][0].endswith("/gkmlpt/annualreport#2629")
