"""A full disk during a load, on a real full disk (a small tmpfs the test mounts): one line
``disk_full: …``, no traceback, the files the load wrote removed, the published snapshot
unchanged and readable; once there is room again the next load succeeds."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.pipeline import candidates, rebuild
from tests.conftest import store_two_reports
from warehouse.views import connect

REPO = Path(__file__).parents[2]
DISK_SIZE = "16m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs",
                              str(mount_point)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    """A raw store of two real reports; the warehouse has loaded only the first."""
    data_dir = tmp_path / "data"
    store_two_reports(data_dir)
    first = [c for c in candidates(data_dir, only_new=False) if c.suffix == ".docx"]
    assert rebuild(data_dir, workers=1, items=first).reports_loaded == 1
    return data_dir


def fill(disk: Path, leave: int) -> Path:
    """Write a file until the disk is full, then give back ``leave`` bytes."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        handle.truncate(max(0, handle.tell() - leave))
    return filler


def fingerprint(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def nianbao(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=REPO)


@pytest.mark.slow
@pytest.mark.parametrize(("leave", "stopped"), [
    # full before the rebuild starts: refused when it takes the lock, before any extraction
    (0, "could not record the lock of run {run}; nothing was written"),
    # full partway through the load's writes
    (24 * 1024, "load of run {run} stopped; its {n} files were removed and the published "
                "snapshot is unchanged"),
])
def test_disk_full_during_a_load_is_one_line_and_touches_nothing(
        loaded: Path, small_disk: Path, leave: int, stopped: str) -> None:
    data_dir = small_disk / "data"
    shutil.copytree(loaded, data_dir)
    warehouse = data_dir / "warehouse"
    before = fingerprint(warehouse)
    filler = fill(small_disk, leave)

    done = nianbao("rebuild", "--data-dir", str(data_dir))

    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("disk_full: no space left on the disk of ")
    pattern = re.escape(stopped).replace(re.escape("{run}"), r"\S+").replace(
        re.escape("{n}"), r"[1-9]\d*")
    assert re.search(pattern + "$", lines[0]), lines[0]
    assert fingerprint(warehouse) == before  # no temp files, nothing published touched
    con = connect(data_dir)
    assert con.execute("SELECT count(*) FROM reports").fetchone() == (1,)
    assert con.execute("SELECT count(*) FROM cells").fetchone() == (198,)
    con.close()

    filler.unlink()  # room again: the next load goes through
    again = nianbao("rebuild", "--data-dir", str(data_dir))
    assert again.returncode == 0, again.stderr[-2000:]
    assert "1 reports loaded" in again.stdout
    con = connect(data_dir)
    assert con.execute("SELECT count(*) FROM reports").fetchone() == (2,)
    con.close()
