"""Nothing a run starts outlives a ``kill -9`` of ``nianbao run``: not the Prefect API server,
not the Scrapy crawl subprocess. A real run, killed mid-crawl with SIGKILL; every process that
carries the run's environment marker must be gone within seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.prefect_env import apply_prefect_env
from tests.faults.hostile_portal import HostilePortal


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostilePortal]:
    server = HostilePortal().start()
    try:
        yield server
    finally:
        server.stop()


def _marked(marker: str) -> dict[int, str]:
    """Live (not zombie) processes whose environment carries ``marker``: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if state != "Z":
            found[int(entry.name)] = command
    return found


def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.mark.slow
def test_kill_9_of_a_run_leaves_no_process_behind(hostile, tmp_path) -> None:
    if not Path("/proc/self/environ").exists():
        pytest.skip("needs Linux /proc to find the run's processes")
    marker = f"NIANBAO_ORPHAN_TEST={uuid.uuid4().hex}"
    name, value = marker.split("=")
    # A list page that never answers keeps the crawl subprocess busy for as long as we need.
    config = hostile.config(tmp_path / "configs", "hostile-silent", "/silent/index.html",
                            timeout=60)
    env = apply_prefect_env({**os.environ, name: value, "PREFECT_HOME": str(tmp_path / "prefect")})
    env.pop("PREFECT_API_URL", None)
    run = subprocess.Popen([sys.executable, "-m", "flows.cli", "run", "--portals", str(config),
                            "--data-dir", str(tmp_path / "data")], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def started() -> bool:
            commands = _marked(marker).values()
            return (any("crawlers.run" in c for c in commands)
                    and any("uvicorn" in c for c in commands))
        assert _wait_for(started, 240), _marked(marker)
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
        def others() -> dict:
            return {p: c for p, c in _marked(marker).items() if p != run.pid}

        assert _wait_for(lambda: not others(), 15), others()
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for pid in _marked(marker):  # only what this test started, by pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
