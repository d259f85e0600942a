"""The warehouse lock is checked before any work: `nianbao rebuild` on a locked warehouse is
refused at once, naming the live holder (run id, pid, since); a record left by a dead holder
is called stale."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

import flows.pipeline
from flows.cli import app
from tests.conftest import store_two_reports
from warehouse.load import load_reports
from warehouse.lock import WarehouseLocked, check_unlocked
from warehouse.store import Warehouse
from warehouse.views import connect

REPO = Path(__file__).parents[2]

_HOLDER = """
import sys, time
from pathlib import Path
from warehouse.lock import hold
root, stop = Path(sys.argv[1]), Path(sys.argv[2])
root.mkdir(parents=True, exist_ok=True)
with hold(root, "holder-run"):
    print("held", flush=True)
    deadline = time.monotonic() + 60  # bounded: the test removes it sooner
    while not stop.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
"""

# another tool holding the lock (flock(1), a stuck copy): it writes no record
_FOREIGN = """
import fcntl, sys, time
from pathlib import Path
handle = open(sys.argv[1], "r")
fcntl.flock(handle, fcntl.LOCK_EX)
print("held", flush=True)
deadline = time.monotonic() + 60
while not Path(sys.argv[2]).exists() and time.monotonic() < deadline:
    time.sleep(0.05)
"""


# a rebuild's shape: the lock held while forked extraction workers run; the worker outlives
# the kill -9 of its parent
_FORKING_HOLDER = """
import multiprocessing, os, sys, time
from pathlib import Path
from warehouse.lock import hold

def work(seconds):
    time.sleep(seconds)

root = Path(sys.argv[1])
with hold(root, "forking-run"):
    child = multiprocessing.get_context("fork").Process(target=work, args=(30,))
    child.start()
    print(child.pid, flush=True)
    time.sleep(60)
"""


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    """A raw store holding two real reports, as a crawl would have left it."""
    store_two_reports(tmp_path)
    (tmp_path / "warehouse").mkdir()
    return tmp_path


@contextmanager
def holding(script: str, *args: str) -> Iterator[subprocess.Popen]:
    stop = Path(args[-1])
    process = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                               text=True, cwd=REPO)
    try:
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        stop.touch()
        process.wait(timeout=30)


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def nianbao(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=REPO)


def test_rebuild_is_refused_before_any_work_naming_the_live_holder(
        stored: Path, tmp_path: Path, monkeypatch) -> None:
    root = stored / "warehouse"
    with holding(_HOLDER, str(root), str(tmp_path / "stop")) as holder:
        done = nianbao("rebuild", "--data-dir", str(stored))
        assert done.returncode == 1 and "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(f"locked: the warehouse is locked by run holder-run "
                                   f"(pid {holder.pid}, since ")
        # in-process too, watching for the first step of the work: it never starts
        listed = []
        real = flows.pipeline.candidates
        monkeypatch.setattr(flows.pipeline, "candidates",
                            lambda *a, **k: listed.append(1) or real(*a, **k))
        result = CliRunner().invoke(app, ["rebuild", "--data-dir", str(stored)])
        assert result.exit_code == 1 and listed == []
        # and a load names the same holder, with its fields
        with pytest.raises(WarehouseLocked) as caught:
            load_reports(Warehouse(stored), [])
        assert (caught.value.kind, caught.value.holder.run_id, caught.value.holder.pid) == (
            "locked", "holder-run", holder.pid)
    assert not (root / "reports").exists()  # nothing was loaded


def test_a_foreign_holder_is_named_and_an_old_record_called_stale(stored: Path,
                                                                   tmp_path: Path) -> None:
    lock = stored / "warehouse" / ".lock"
    old = dead_pid()
    lock.write_text(json.dumps({"run_id": "finished-run", "pid": old,
                                "since": "2026-01-01T00:00:00+00:00"}), encoding="utf-8")
    with holding(_FOREIGN, str(lock), str(tmp_path / "stop")) as holder:
        done = nianbao("rebuild", "--data-dir", str(stored))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    line, = done.stderr.strip().splitlines()
    assert line.startswith(f"locked: the warehouse is locked by a process (pid {holder.pid}, ")
    assert f"the lock file's record of run finished-run (pid {old}) is stale" in line


@pytest.mark.slow
def test_a_lock_left_by_a_dead_holder_is_stale_and_taken_over(stored: Path) -> None:
    lock = stored / "warehouse" / ".lock"
    old = dead_pid()
    lock.write_text(json.dumps({"run_id": "killed-run", "pid": old,
                                "since": "2026-01-01T00:00:00+00:00"}), encoding="utf-8")
    done = nianbao("rebuild", "--data-dir", str(stored))
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"the lock of run killed-run (pid {old}, since 2026-01-01T00:00:00+00:00) was " \
           "stale" in done.stderr
    assert "2 reports loaded" in done.stdout
    assert connect(stored).execute("SELECT count(*) FROM reports").fetchone() == (2,)
    assert lock.read_text(encoding="utf-8") == ""  # released: no record left to go stale


def test_a_forked_worker_does_not_keep_the_lock_after_its_parent_is_killed(tmp_path: Path
                                                                           ) -> None:
    root = tmp_path / "warehouse"
    root.mkdir()
    parent = subprocess.Popen([sys.executable, "-c", _FORKING_HOLDER, str(root)],
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    child = int(parent.stdout.readline())
    try:
        with pytest.raises(WarehouseLocked, match="forking-run"):
            check_unlocked(root)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        os.kill(child, 0)  # the worker still runs ...
        stale = check_unlocked(root)  # ... and the lock is free, its record stale
        assert stale is not None and stale.run_id == "forking-run" and stale.pid == parent.pid
    finally:
        parent.kill()
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
