"""Disk full during a crawl, on a real full disk: a small tmpfs the test mounts (as root; skipped
with the reason where it may not). Every disk-full is one ``disk_full`` line, the crawl stops
within seconds, no ``.incoming-*`` temp file is left, and nothing stored before is touched."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawlers.rawstore import RawStore
from tests.faults.hostile_portal import MANY_DOCUMENTS, MANY_SIZE, HostilePortal

DISK_MB = 3  # room for the crawl's state and a few documents, not for MANY_DOCUMENTS of them


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A DISK_MB tmpfs at tmp_path/disk, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(disk)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostilePortal]:
    server = HostilePortal().start()
    try:
        yield server
    finally:
        server.stop()


def _snapshot(data: Path) -> dict[str, str]:
    return {str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in data.rglob("*") if p.is_file()}


def _crawl(portals: Path, data: Path, timeout: float) -> subprocess.CompletedProcess:
    """The crawl, which must end by itself (a hang raises TimeoutExpired)."""
    return subprocess.run([sys.executable, "-m", "crawlers.run", "--portals", str(portals),
                           "--data-dir", str(data), "--log-level", "WARNING"],
                          capture_output=True, text=True, timeout=timeout, check=False)


def _published_before(data: Path) -> dict[str, str]:
    """What an earlier run left: a stored document and a published warehouse file."""
    RawStore(data).put(b"%PDF-1.4 stored by an earlier crawl\n")
    (data / "warehouse").mkdir()
    (data / "warehouse" / "_published.json").write_text('{"version": 1}\n', encoding="utf-8")
    return _snapshot(data)


def _assert_stopped_cleanly(done: subprocess.CompletedProcess, data: Path,
                            before: dict[str, str], portals: int) -> list[dict]:
    import json

    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == portals
    for report in reports:
        assert report["status"] == "error" and report["finish_reason"] == "disk_full"
        assert report["errors"]["disk_full"]
        assert "crawl ended: disk_full" in report["message"]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines() if "disk_full" in line]
    assert lines and all("disk_full: " in line for line in lines)
    assert not list(data.rglob(".incoming-*"))
    after = _snapshot(data)
    assert {name: after.get(name) for name in before} == before  # nothing stored is touched
    return reports


def test_disk_full_during_a_crawl_stops_it_with_one_line(full_disk, hostile, tmp_path) -> None:
    data = full_disk / "data"
    before = _published_before(data)
    config = hostile.config(tmp_path / "configs", "hostile-many", "/many/0/index.html")
    done = _crawl(config, data, timeout=120)
    (report,) = _assert_stopped_cleanly(done, data, before, portals=1)
    assert done.returncode == 3
    stored = len(list(RawStore(data).rows()))
    assert 0 < stored < MANY_DOCUMENTS and MANY_SIZE * MANY_DOCUMENTS > DISK_MB * 1024**2
    assert report["documents_new"] == stored


@pytest.mark.slow
def test_disk_full_during_a_crawl_of_ten_portals_ends(full_disk, hostile, tmp_path) -> None:
    data = full_disk / "data"
    before = _published_before(data)
    for k in range(10):
        hostile.config(tmp_path / "configs", f"hostile-many-{k}", f"/many/{k}/index.html")
    done = _crawl(tmp_path / "configs", data, timeout=300)
    _assert_stopped_cleanly(done, data, before, portals=10)
    assert done.returncode == 3
