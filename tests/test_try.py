"""``nianbao try CONFIG`` against the test portal: one list page and the next, each entry with
its verdict, nothing stored; a clear non-zero exit for a challenge, a soft 404, a layout the
adapter cannot read, or a list without a report."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from crawlers.fetch import FetchFailed, PoliteFetcher
from crawlers.settings import USER_AGENT
from flows.cli import app
from tests.portal import fixtures
from tests.portal.sites import errors, gbk, gkmlpt, hanweb, homes, trs

portal = fixtures.portal  # the session's running test portal (a pytest fixture)
fresh_portal = fixtures.fresh_portal


def _config(folder: Path, start: str, platform: str = "auto") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "trial.yaml"
    path.write_text(f"id: trial\nagency: 试用\nstart_urls: [{json.dumps(start)}]\n"
                    f"platform: {platform}\n", encoding="utf-8")
    return path


def _try(config: Path, cwd: Path, monkeypatch, *extra: str):
    cwd.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(cwd)
    return CliRunner().invoke(app, ["try", str(config), "--delay", "0", *extra])


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_try_judges_each_entry_of_a_list_page_and_its_next(fresh_portal, tmp_path,
                                                           monkeypatch) -> None:
    base = fresh_portal.base_url("trs")
    config = _config(tmp_path / "configs", base + trs.COLUMN + "index.html")
    result = _try(config, tmp_path / "cwd", monkeypatch, "--json")
    assert result.exit_code == 0, result.output
    listed = [a for a in trs.MAIN.articles if a.listed][: 2 * trs.MAIN.per_page]
    entries = _lines(result.output)
    urls = [fresh_portal.url(a.site, a.path) if a.site else base + a.path for a in listed]
    assert [e["url"] for e in entries] == urls
    assert [e["report"] for e in entries] == [a.kind != "decoy" for a in listed]
    for entry, article in zip(entries, listed):
        if article.kind != "decoy":
            assert (entry["agency"], entry["year"]) == (article.agency, article.year)
        else:
            assert entry["why"].startswith(("decoy", "not a report")), entry
    # The list page and its next page, after robots.txt: no article, nothing else.
    assert fresh_portal.log.paths("trs") == ["/robots.txt", trs.COLUMN + "index.html",
                                             trs.COLUMN + "index_1.html"]
    assert {h.headers.get("User-Agent") for h in fresh_portal.log.hits()} == {USER_AGENT}


def test_try_stores_nothing(fresh_portal, tmp_path, monkeypatch) -> None:
    config = _config(tmp_path / "configs", fresh_portal.base_url("hanweb") + hanweb.COLUMN_PAGE)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    result = _try(config, tmp_path / "cwd", monkeypatch)
    assert result.exit_code == 0, result.output
    assert "report" in result.output and hanweb.AGENCY in result.output
    # No raw store, crawl state or data folder anywhere: not in the working folder, not in HOME,
    # not beside the config.
    assert list((tmp_path / "cwd").iterdir()) == []
    assert list(home.iterdir()) == []
    assert [p.name for p in (tmp_path / "configs").iterdir()] == ["trial.yaml"]
    # Hanweb: the column page and the first dataproxy.jsp page after it.
    assert [p.split("?")[0] for p in fresh_portal.log.paths("hanweb")] == [
        "/robots.txt", hanweb.COLUMN_PAGE, hanweb.PROXY]


def test_try_reads_a_gkmlpt_column_through_its_shell(fresh_portal, tmp_path, monkeypatch) -> None:
    base = fresh_portal.base_url("gkmlpt")
    config = _config(tmp_path / "configs", f"{base}{gkmlpt.SHELL}#{gkmlpt.COLUMN_ID}")
    result = _try(config, tmp_path / "cwd", monkeypatch, "--json")
    assert result.exit_code == 0, result.output
    entries = _lines(result.output)
    assert len(entries) == len(gkmlpt.ARTICLES)  # API pages 1 and 2
    assert sum(e["report"] for e in entries) == sum(a.kind != "decoy" for a in gkmlpt.ARTICLES)
    assert [p.split("?")[0] for p in fresh_portal.log.paths("gkmlpt")] == [
        "/robots.txt", gkmlpt.SHELL, gkmlpt.API, gkmlpt.API]


@pytest.mark.parametrize("site", ["ruishu", "jiasule", "safedog"])
def test_try_fails_on_a_challenge_page(fresh_portal, tmp_path, monkeypatch, site: str) -> None:
    start = fresh_portal.base_url(site) + "/zwgk/zfxxgknb/index.html"
    config = _config(tmp_path / "configs", start)
    result = _try(config, tmp_path / "cwd", monkeypatch)
    assert result.exit_code == 1
    assert "blocked:" in result.output and "challenge" in result.output
    assert len(fresh_portal.log.hits(site)) == 1  # robots.txt was the challenge: nothing more


def test_try_fails_on_a_soft_404(fresh_portal, tmp_path, monkeypatch) -> None:
    soft = next(a for a in errors.ARTICLES if a.fault == "soft_404")
    config = _config(tmp_path / "configs", fresh_portal.base_url("errors") + soft.path)
    result = _try(config, tmp_path / "cwd", monkeypatch)
    assert result.exit_code == 1
    assert result.output.startswith("soft_404:"), result.output


def test_try_fails_when_the_adapter_cannot_read_the_layout(fresh_portal, tmp_path,
                                                         monkeypatch) -> None:
    # The 政府信息公开 page is navigation: no tYYYYMMDD_id article links for the TRS adapter.
    config = _config(tmp_path / "configs", fresh_portal.base_url("trs") + homes.XXGK, "trs")
    result = _try(config, tmp_path / "cwd", monkeypatch)
    assert result.exit_code == 1
    assert result.output.startswith("layout_changed:"), result.output


def test_try_fails_when_no_entry_is_a_report(fresh_portal, tmp_path, monkeypatch) -> None:
    config = _config(tmp_path / "configs", fresh_portal.base_url("trs") + homes.NDBG.path)
    result = _try(config, tmp_path / "cwd", monkeypatch, "--json")
    assert result.exit_code == 1
    entries = _lines(result.output)
    assert len(entries) == len(homes.NDBG.articles) and not any(e["report"] for e in entries)
    assert {e["why"] for e in entries} == {"not a report title"}
    assert "no_report: " in result.output


# -- the polite fetcher both commands use ---------------------------------------------------------

def test_try_decodes_gb_pages_even_when_mislabelled(fresh_portal, tmp_path, monkeypatch) -> None:
    config = _config(tmp_path / "configs", fresh_portal.base_url("gbk") + gbk.SITE.start)
    result = _try(config, tmp_path / "cwd", monkeypatch, "--json")
    assert result.exit_code == 0, result.output
    pages = gbk.COLUMN_SPEC.pages()
    assert gbk.MISLABELLED_PAGE == 2  # the second page read: index_2.shtml, utf-8 over GBK bytes
    assert [e["title"] for e in _lines(result.output)] == [a.title for a in pages[0] + pages[1]]
    assert [p for p in fresh_portal.log.paths("gbk") if p != "/robots.txt"] == [
        gbk.COLUMN + "index.shtml", gbk.COLUMN + "index_2.shtml"]


def test_fetcher_refuses_a_redirect_off_the_site(fresh_portal) -> None:
    moved = next(a for a in errors.ARTICLES if a.fault == "offsite_redirect")
    base = fresh_portal.base_url("errors")
    fetcher = PoliteFetcher(hosts=(urlsplit(base).hostname,), delay=0)
    with pytest.raises(FetchFailed) as failed:
        fetcher.get(base + moved.path)
    assert failed.value.kind == "offsite"
    assert fresh_portal.log.hits("offsite") == []


def test_fetcher_waits_its_delay_between_requests_to_a_host(fresh_portal) -> None:
    base = fresh_portal.base_url("static")
    fetcher = PoliteFetcher(hosts=(urlsplit(base).hostname,), delay=0.3)
    for path in ("/nw12344/index.html", "/nw12344/index_2.html", "/nw12344/index.html"):
        fetcher.get(base + path)
    hits = fresh_portal.log.hits("static")
    assert [h.path for h in hits] == ["/robots.txt", "/nw12344/index.html",
                                      "/nw12344/index_2.html", "/nw12344/index.html"]
    # Each request starts at least the delay after the answer before it was complete.
    assert all(b.start - a.end >= 0.3 for a, b in zip(hits, hits[1:]))


def test_try_rejects_a_bad_config_naming_the_key(tmp_path, monkeypatch) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: Bad Id\nagency: x\nstart_urls: ['http://127.0.0.1/']\n", encoding="utf-8")
    result = _try(bad, tmp_path / "cwd", monkeypatch)
    assert result.exit_code == 2
    assert "config error" in result.output and "id:" in result.output


def test_fetcher_gives_up_a_slow_page_as_a_timeout(fresh_portal) -> None:
    slow = next(a for a in errors.ARTICLES if a.fault == "slow")
    base = fresh_portal.base_url("errors")
    fetcher = PoliteFetcher(hosts=(urlsplit(base).hostname,), delay=0, timeout=0.5)
    with pytest.raises(FetchFailed) as failed:
        fetcher.get(base + slow.path)
    assert failed.value.kind == "timeout"
