"""Crawl faults against a hostile portal on 127.0.0.1, with the real crawler in a subprocess:
each lost document is recorded by URL with its kind, a portal that lost one is ``partial``,
a redirect loop is ``redirect_loop``, a silent server is ``timeout``, and a list of 100,000
links is cut by ``max_requests`` and resumed by the next run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawlers.config import ConfigError, parse_config
from crawlers.portal_crawl import resume_path
from crawlers.rawstore import RawStore
from flows.crawling import run_crawl
from flows.summary import RunSummary, crawl_failures
from tests.faults.hostile_portal import HostilePortal, document_body
from warehouse.load import LoadResult

FAST = {"timeout": 1, "max_download_mb": 1}  # small caps keep every fault test quick
BIG = {"timeout": 5, "max_download_mb": 20}  # the 100,000-link list page is ~9 MB


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostilePortal]:
    server = HostilePortal().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def documents_crawl(hostile: HostilePortal, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("docs")
    config = hostile.config(root / "configs", "hostile-docs", "/docs/index.html", **FAST)
    result = run_crawl(config, root / "data", timeout=120)
    return {"root": root, "result": result, "report": result.reports[0]}


def test_each_lost_document_is_recorded_by_url_with_its_kind(documents_crawl, hostile) -> None:
    errors = documents_crawl["report"].errors
    base = hostile.base
    assert sorted(errors.get("too_large", [])) == [f"{base}/docs/endless.pdf",
                                                   f"{base}/docs/huge.pdf"]
    assert errors.get("decompression_bomb") == [f"{base}/docs/bomb.pdf"]
    assert errors.get("timeout") == [f"{base}/docs/silent.pdf"]
    assert "ignored" not in errors and not any(k.endswith("Error") for k in errors)


def test_a_portal_that_lost_report_documents_is_partial_not_ok(documents_crawl) -> None:
    report, result = documents_crawl["report"], documents_crawl["result"]
    assert report.status == "partial"
    assert report.reports_found == 6 and report.documents_new == 2
    assert "lost decompression_bomb 1, timeout 1, too_large 2" in report.message
    assert result.returncode == 3 and not result.ok


def test_the_documents_that_arrived_are_stored_whole(documents_crawl, hostile) -> None:
    rows = list(RawStore(documents_crawl["root"] / "data").rows())
    assert sorted(r.url for r in rows) == [f"{hostile.base}/docs/ok.pdf",
                                           f"{hostile.base}/docs/ok2.pdf"]
    store = RawStore(documents_crawl["root"] / "data")
    assert {store.read(r.sha256) for r in rows} == {document_body("/docs/ok.pdf"),
                                                    document_body("/docs/ok2.pdf")}


def test_lost_documents_reach_the_run_failures_as_crawl_kinds(documents_crawl, hostile) -> None:
    summary = RunSummary("r1", [documents_crawl["report"]], LoadResult("r1"))
    rows = crawl_failures(summary.crawl_reports)
    assert sorted((r["rule"], r["subject"]) for r in rows) == [
        ("crawl:decompression_bomb", f"{hostile.base}/docs/bomb.pdf"),
        ("crawl:timeout", f"{hostile.base}/docs/silent.pdf"),
        ("crawl:too_large", f"{hostile.base}/docs/endless.pdf"),
        ("crawl:too_large", f"{hostile.base}/docs/huge.pdf"),
    ]
    assert summary.has_failures and summary.counts()["portals_partial"] == 1


@pytest.mark.parametrize("start", ["/loop/index.html", "/self/index.html", "/climb/0"])
def test_a_redirect_loop_on_a_list_page_is_recorded(hostile, tmp_path, start: str) -> None:
    config = hostile.config(tmp_path, "hostile-loop", start, **FAST)
    (report,) = run_crawl(config, tmp_path / "data", timeout=120).reports
    assert report.errors == {"redirect_loop": [hostile.base + start]}
    assert report.status == "error"
    hops = sum(n for path, n in hostile.hits.items() if path.startswith(start.rsplit("/", 1)[0]))
    assert hops <= 7  # the first request and at most REDIRECT_MAX_TIMES (5) hops, once


def test_a_server_that_never_answers_is_a_timeout(hostile, tmp_path) -> None:
    config = hostile.config(tmp_path, "hostile-silent", "/silent/index.html", **FAST)
    result = run_crawl(config, tmp_path / "data", timeout=120)
    (report,) = result.reports
    assert report.errors == {"timeout": [f"{hostile.base}/silent/index.html"]}
    assert report.status == "error" and result.returncode == 3


def _article_fetches(hostile: HostilePortal) -> list[str]:
    return [p for p in hostile.paths if p.startswith("/big/art/")]


@pytest.mark.slow
def test_a_list_of_100000_links_is_capped_and_resumed_next_run(hostile, tmp_path) -> None:
    config = hostile.config(tmp_path / "configs", "hostile-big", "/big/index.html",
                            max_requests=40, **BIG)
    hostile.paths.clear()
    first = run_crawl(config, tmp_path / "data", timeout=300).reports[0]
    first_articles = _article_fetches(hostile)
    assert first.status == "partial" and first.finish_reason == "list_truncated"
    assert f"{hostile.base}/big/index.html" in first.errors["list_truncated"]
    # robots.txt + the list + articles up to the cap, and what was already handed to the
    # downloader (CONCURRENT_REQUESTS = 16) finishes: never the 100,000.
    assert 40 <= len(hostile.paths) <= 40 + 16
    assert first.reports_found == len(set(first_articles)) == len(first_articles)
    # The portal stopped on its own: what it had left waits in its resume record.
    assert resume_path(tmp_path / "data", "hostile-big").is_file()

    hostile.paths.clear()
    second = run_crawl(config, tmp_path / "data", timeout=300).reports[0]
    second_articles = _article_fetches(hostile)
    assert second.status == "partial" and second.finish_reason == "list_truncated"
    assert len(second_articles) >= 30
    assert not set(first_articles) & set(second_articles)  # it went on where it stopped
    stored = [r.url for r in RawStore(tmp_path / "data").rows()]
    assert len(stored) == len(set(stored)) == len(first_articles) + len(second_articles)


@pytest.mark.slow
def test_max_documents_cuts_the_crawl_too(hostile, tmp_path) -> None:
    config = hostile.config(tmp_path / "configs", "hostile-big-docs", "/big/index.html",
                            max_documents=5, **BIG)
    report = run_crawl(config, tmp_path / "data", timeout=300).reports[0]
    assert report.status == "partial" and report.finish_reason == "list_truncated"
    assert 5 <= report.documents_new <= 5 + 16


@pytest.mark.parametrize("key", ["max_requests", "max_documents"])
def test_caps_are_validated_naming_the_key(key: str) -> None:
    base = {"id": "x1", "agency": "某", "start_urls": ["http://127.0.0.1/"]}
    assert getattr(parse_config({**base, key: 7}), key) == 7
    for bad in (0, "many"):
        with pytest.raises(ConfigError, match=re.escape(key)):
            parse_config({**base, key: bad})


def test_error_kinds_are_classes_with_a_kind_and_documented() -> None:
    from crawlers import faults

    readme = (Path(faults.__file__).parent / "portals" / "README.md").read_text(encoding="utf-8")
    kinds = {v for k, v in vars(faults).items() if k.isupper() and isinstance(v, str)}
    assert {"timeout", "too_large", "decompression_bomb", "redirect_loop", "list_truncated",
            "disk_full"} <= kinds
    assert all(f"`{kind}`" in readme for kind in kinds)
    assert faults.RedirectLoop("x").kind == "redirect_loop"
    assert faults.DecompressionBomb("x").kind == "decompression_bomb"


@pytest.mark.slow
def test_the_nightly_flow_reports_a_partial_portal_and_its_lost_documents(hostile,
                                                                           tmp_path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.testing.utilities import prefect_test_harness

    from flows.nightly import nightly
    from flows.summary import FAILURES_KEY

    config = hostile.config(tmp_path / "configs", "hostile-docs", "/docs-real/index.html",
                            **FAST)
    with prefect_test_harness(server_startup_timeout=120):
        state = nightly(portals=str(config.parent), data_dir=str(tmp_path / "data"),
                        return_state=True)
        assert state.is_completed() and "1 partial" in state.message
        assert state.message.startswith("completed with failures")
        result = state.result()
        assert result.portals_partial == 1 and result.portals_failed == 0
        rules = sorted(f["rule"] for f in result.failures
                       if f["portal"] == "hostile-docs" and f["rule"].startswith("crawl:"))
        assert rules == ["crawl:decompression_bomb", "crawl:too_large"]
        assert result.reports_new == 1  # the real report that did arrive is loaded
        with get_client(sync_client=True) as client:
            (artifact,) = [a for a in client.read_artifacts(artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[FAILURES_KEY])))
                if a.flow_run_id == state.state_details.flow_run_id]
        assert f"{hostile.base}/docs/bomb.pdf" in str(artifact.data)
