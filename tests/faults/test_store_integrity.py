"""Raw-store integrity: a stored object whose bytes no longer match its sha256 name is found on
every read, quarantined (moved aside, never deleted), recorded as a ``corrupt_store`` finding,
not extracted, and fetched again by the next crawl."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from crawlers.rawstore import CorruptObject, ManifestRow, RawStore
from flows.crawling import run_crawl
from flows.pipeline import candidates
from tests.portal import fixtures
from tests.portal.fixtures import write_configs
from tests.portal.sites import static
from warehouse.views import connect

DATA = Path(__file__).parents[1] / "data"
REPO = Path(__file__).parents[2]
portal = fixtures.portal

HTML = "shanghai_gov_office_2019.html"
DOCX = "weihai_2020.docx"


def flip_bytes(path: Path, offset: int, count: int = 4) -> bytes:
    """XOR ``count`` bytes at ``offset`` of a (read-only) stored object; returns the new bytes."""
    data = bytearray(path.read_bytes())
    for n in range(offset, offset + count):
        data[n] ^= 0x5A
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    return bytes(data)


def record(store: RawStore, sha: str, name: str) -> None:
    store.record(ManifestRow(
        portal_id="p", url=f"http://x.gov.cn/{sha[:8]}", final_url=f"http://x.gov.cn/{sha[:8]}",
        page_url=None, title=name, publish_date="2021-01-20", publisher=None, index_number=None,
        content_type=None, size=0, sha256=sha, fetched_at="2021-01-21T00:00:00+00:00",
        http_status=200, kind="attachment" if name.endswith(".docx") else "page",
        attachment_name=name if name.endswith(".docx") else None))


@pytest.fixture
def stored(tmp_path: Path) -> dict[str, str]:
    """A raw store with two real reports, as a crawl leaves it: {file name: sha256}."""
    store = RawStore(tmp_path)
    shas = {}
    for name in (DOCX, HTML):
        shas[name], _ = store.put((DATA / name).read_bytes())
        record(store, shas[name], name)
    return shas


def test_a_damaged_object_is_quarantined_on_read(tmp_path: Path, stored) -> None:
    store = RawStore(tmp_path)
    sha = stored[HTML]
    damaged = flip_bytes(store.path_of(sha), 5000)
    with pytest.raises(CorruptObject) as raised:
        store.read(sha)
    assert raised.value.kind == "corrupt_store" and sha[:16] in str(raised.value)
    moved = tmp_path / raised.value.quarantine.moved_to
    assert moved.read_bytes() == damaged  # moved aside, never deleted
    assert raised.value.quarantine.actual_sha256 == hashlib.sha256(damaged).hexdigest()
    assert not store.path_of(sha).exists() and not store.has(sha)
    assert [q.sha256 for q in store.quarantined()] == [sha]
    # the good bytes, fetched again, are stored again as new
    assert store.put((DATA / HTML).read_bytes()) == (sha, True)
    assert store.read(sha) == (DATA / HTML).read_bytes()
    assert store.has(stored[DOCX])  # the intact object is untouched


def test_put_over_a_damaged_copy_replaces_it(tmp_path: Path, stored) -> None:
    store = RawStore(tmp_path)
    sha = stored[DOCX]
    flip_bytes(store.path_of(sha), 2000)
    assert store.put((DATA / DOCX).read_bytes()) == (sha, True)
    assert hashlib.sha256(store.path_of(sha).read_bytes()).hexdigest() == sha
    assert len(list(store.quarantine_dir.iterdir())) == 1


def test_damaged_object_is_not_a_candidate_for_extraction(tmp_path: Path, stored) -> None:
    flip_bytes(RawStore(tmp_path).path_of(stored[DOCX]), 3000)
    assert [c.sha256 for c in candidates(tmp_path, only_new=False)] == [stored[HTML]]


@pytest.mark.slow
def test_rebuild_skips_and_records_a_damaged_object(tmp_path: Path, stored) -> None:
    """`nianbao rebuild` over a store with flipped bytes: only the intact report is loaded,
    every report's sha256 is a fetched document's, and the damage is a quality finding."""
    store = RawStore(tmp_path)
    damaged = flip_bytes(store.path_of(stored[DOCX]), 3000)
    done = subprocess.run([sys.executable, "-m", "flows.cli", "rebuild", "--data-dir",
                           str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=REPO,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 reports loaded" in done.stdout
    assert "corrupt_store" in done.stderr and "Traceback" not in done.stderr
    con = connect(tmp_path)
    assert con.execute("SELECT document_sha256 FROM reports").fetchall() == [(stored[HTML],)]
    assert con.execute("SELECT count(*) FROM reports WHERE document_sha256 NOT IN "
                       "(SELECT sha256 FROM documents)").fetchone()[0] == 0
    finding = con.execute("SELECT rule, subject, status, scope, message FROM quality_history "
                          "WHERE rule = 'corrupt_store'").fetchall()
    assert len(finding) == 1
    assert finding[0][:4] == ("corrupt_store", stored[DOCX], "FAIL", "raw_store")
    assert "raw/quarantine/" in finding[0][4]
    [moved] = store.quarantine_dir.iterdir()
    assert moved.read_bytes() == damaged


@pytest.mark.slow
def test_next_crawl_fetches_a_quarantined_document_again(portal, tmp_path: Path) -> None:
    """A document seen minutes ago is normally answered from the store without a request; when
    its stored copy is damaged, the crawl requests it again and stores the good bytes."""
    portal.reset()
    configs = tmp_path / "configs"
    for path in write_configs(portal, configs):
        if path.stem != static.SITE.portal_id:
            path.unlink()
    data = tmp_path / "data"
    first = run_crawl(configs, data, delay=0, timeout=300)
    assert first.ok, first.log_tail[-2000:]
    store = RawStore(data)
    url = portal.base_url("static") + static.REPORT_2022
    [row] = [r for r in store.rows() if r.url == url]
    good = store.path_of(row.sha256).read_bytes()
    flip_bytes(store.path_of(row.sha256), len(good) // 2)

    portal.log.clear()
    second = run_crawl(configs, data, delay=0, timeout=300)
    assert second.ok, second.log_tail[-2000:]
    assert portal.log.count("static", static.REPORT_2022) == 1  # requested again
    assert portal.log.count("static", static.ORIGINAL_2019) == 0  # intact: not requested
    assert store.path_of(row.sha256).read_bytes() == good
    assert [q.sha256 for q in store.quarantined()] == [row.sha256]
    refetched = [r for r in list(store.rows()) if r.url == url][-1]
    assert refetched.sha256 == row.sha256 and refetched.new and refetched.http_status == 200
