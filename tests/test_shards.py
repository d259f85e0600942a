"""The nightly crawl in shards: a stable and complete dealing of the portals, one crawler
process per shard (one killed with kill -9 is recorded per portal and the run goes on),
extraction of a finished shard's documents while another shard still crawls, and the same run
on a real 2-worker Dask cluster (``dask scheduler`` and ``dask worker`` on loopback)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from crawlers.config import PortalConfig
from flows.crawling import deal_shards, default_shard_count
from flows.nightly import nightly
from flows.pipeline import candidates
from flows.prefect_env import apply_prefect_env
from flows.runners import make_task_runner
from flows.shards import ShardOutcome
from tests.portal import fixtures
from tests.portal.expected import EXPECTED
from tests.portal.fixtures import write_configs
from warehouse.views import connect

portal = fixtures.portal

ROOT = Path(__file__).resolve().parent.parent
FAST, SLOW, KILLED = "static", "errors", "gkmlpt"  # the errors site has a 3 s page


def _config(portal_id: str, host: str) -> PortalConfig:
    return PortalConfig(id=portal_id, agency="示例县人民政府",
                        start_urls=(f"http://{host}/xxgk/index.html",))


def test_shards_are_complete_balanced_and_stable() -> None:
    configs = [_config(f"p{n:02d}", f"www.p{n:02d}.gov.cn") for n in range(10)]
    dealt = deal_shards(configs, 3)
    ids = [c.id for shard in dealt for c in shard]
    assert sorted(ids) == [c.id for c in configs] and len(set(ids)) == 10  # each exactly once
    assert sorted(len(shard) for shard in dealt) == [3, 3, 4]
    shuffled = configs[:]
    random.Random(7).shuffle(shuffled)
    assert deal_shards(shuffled, 3) == dealt  # the order configs come in does not matter
    assert [len(s) for s in deal_shards(configs[:2], 5)] == [1, 1]  # never an empty shard
    with pytest.raises(ValueError, match="at least 1"):
        deal_shards(configs, 0)


def test_portals_of_one_host_share_a_shard() -> None:
    shared = [_config(f"county-{n}", "www.jiangsu.gov.cn") for n in range(4)]
    others = [_config(f"city-{n}", f"www.city{n}.gov.cn") for n in range(4)]
    dealt = deal_shards(others + shared, 2)
    (home,) = [shard for shard in dealt if any(c.id == "county-0" for c in shard)]
    assert {c.id for c in shared} <= {c.id for c in home}
    assert sorted(len(shard) for shard in dealt) == [4, 4]


def test_default_shard_count_follows_cores_and_portals() -> None:
    assert default_shard_count(100, cores=2) == 2
    assert default_shard_count(1, cores=8) == 1
    assert default_shard_count(3000, cores=2) == 6  # at most 500 portals a crawler process
    assert default_shard_count(0, cores=4) == 1
    assert default_shard_count(100, cores=16, task_slots=4) == 3  # a thread left to extract
    assert default_shard_count(100, cores=16, task_slots=1) == 1


def _select_configs(portal, directory: Path, sites: tuple[str, ...]) -> Path:
    every = write_configs(portal, directory / "all")
    chosen = directory / "configs"
    chosen.mkdir()
    for site in sites:
        name = f"{EXPECTED[site].portal_id}.yaml"
        (chosen / name).write_text((directory / "all" / name).read_text(encoding="utf-8"),
                                   encoding="utf-8")
    assert len(every) > len(sites)
    return chosen


def _kill_crawler_of(config: Path, stop: threading.Event, killed: list[int]) -> None:
    """kill -9 the crawler process (``python -m crawlers.run``) crawling ``config``, once it
    has started; gives up after 120 s."""
    deadline = time.monotonic() + 120
    while not stop.is_set() and time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            if argv[1:3] == ["-m", "crawlers.run"] and str(config) in argv:
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
                return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def sharded(harness, portal, tmp_path_factory) -> dict:
    """One nightly run in 3 shards: a fast site, a slow one, and one whose crawler is killed."""
    portal.reset()
    root = tmp_path_factory.mktemp("shards")
    configs = _select_configs(portal, root, (FAST, SLOW, KILLED))
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_crawler_of, args=(
        configs / f"{EXPECTED[KILLED].portal_id}.yaml", stop, killed))
    killer.start()
    try:
        state = nightly(portals=str(configs), data_dir=str(root / "data"), delay=0, shards=3,
                        batch_size=2, return_state=True)
    finally:
        stop.set()
        killer.join()
    return {"state": state, "data": root / "data", "killed": killed}


def _shard_of(result: dict, site: str) -> ShardOutcome:
    (shard,) = [s for s in result.shards if s.portals == [EXPECTED[site].portal_id]]
    return shard


def test_each_shard_is_one_crawler_process_with_its_portals_reports(sharded) -> None:
    state = sharded["state"]
    assert state.is_completed(), state.message
    result = state.result()
    assert sorted(s.shard for s in result.shards) == [0, 1, 2]
    reports = {r.portal_id: r for r in result.crawl_reports}
    fast, slow = reports[EXPECTED[FAST].portal_id], reports[EXPECTED[SLOW].portal_id]
    assert fast.status == "ok" and fast.shard == _shard_of(result, FAST).shard
    assert slow.reports_found >= 3 and slow.duration_s >= 3  # the 3 s page
    agencies = {a for (a,) in connect(sharded["data"]).execute(
        "SELECT agency FROM reports WHERE canonical").fetchall()}
    # the fast site's and the slow one's
    assert {"上海市人民政府办公厅", "示例县教育局"} <= agencies


def test_a_killed_shard_is_an_error_for_each_of_its_portals(sharded) -> None:
    assert len(sharded["killed"]) == 1
    result = sharded["state"].result()
    killed_id = EXPECTED[KILLED].portal_id
    (report,) = [r for r in result.crawl_reports if r.portal_id == killed_id]
    assert report.status == "error" and "exited -9" in report.message
    assert _shard_of(result, KILLED).returncode == -9
    assert result.portals_failed == 1
    assert any(f["rule"] == "crawl:error" and f["portal"] == killed_id
               for f in result.failures)


def test_a_finished_shards_documents_are_extracted_while_another_crawls(sharded) -> None:
    result = sharded["state"].result()
    fast, slow = _shard_of(result, FAST), _shard_of(result, SLOW)
    fast_batches = [b for b in result.batches if b.shard == fast.shard]
    assert len(fast_batches) >= 2 and all(b.documents <= 2 for b in fast_batches)
    assert min(b.started for b in fast_batches) < slow.finished
    assert sum(b.documents for b in result.batches) == result.documents_extracted


def test_candidates_of_some_portals_only(sharded) -> None:
    data = sharded["data"]
    fast_id = EXPECTED[FAST].portal_id
    mine = candidates(data, only_new=False, portals={fast_id})
    every = candidates(data, only_new=False)
    assert mine and all(item.meta.portal_id == fast_id for item in mine)
    assert len(every) > len(mine)


# -- beyond one machine: a real Dask cluster of two worker processes on loopback ---------------

def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path) -> Iterator[str]:
    """``dask scheduler`` and two ``dask worker`` processes (one thread each), killed at the
    end; yields the scheduler address."""
    dask = Path(sys.executable).parent / "dask"
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = apply_prefect_env({**os.environ, "PYTHONPATH": str(ROOT),
                             "DASK_DISTRIBUTED__WORKER__DAEMON": "False"})
    common = {"env": env, "cwd": ROOT, "stdout": subprocess.DEVNULL,
              "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port",
                                   address.rsplit(":", 1)[1], "--no-dashboard"], **common)]
    try:
        for n in range(2):
            processes.append(subprocess.Popen(
                [str(dask), "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--name", f"w{n}", "--local-directory",
                 str(tmp_path / f"w{n}")], **common))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _warehouse_cells(data: Path) -> list[tuple]:
    return connect(data).execute(
        'SELECT r.agency, c.year, c."table", c."row", c.col, c.value FROM cells c '
        "JOIN reports r USING (report_id) WHERE r.canonical ORDER BY ALL").fetchall()


@pytest.mark.slow
def test_shards_and_batches_run_on_a_two_worker_dask_cluster(harness, portal, dask_cluster,
                                                             tmp_path) -> None:
    from distributed import Client

    configs = _select_configs(portal, tmp_path, (FAST, SLOW))
    with Client(dask_cluster, timeout=60) as client:
        pids = client.run(os.getpid)  # worker address -> its process id
    flow = nightly.with_options(task_runner=make_task_runner("dask", address=dask_cluster))
    portal.reset()
    state = flow(portals=str(configs), data_dir=str(tmp_path / "dask"), delay=0, shards=2,
                 batch_size=2, return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    workers = {int(s.worker.rsplit(":", 1)[1]) for s in result.shards}
    assert workers == set(pids.values())  # each of the two workers crawled a shard
    assert {int(b.worker.rsplit(":", 1)[1]) for b in result.batches} <= set(pids.values())
    assert result.documents_extracted >= 4

    portal.reset()
    threads = nightly(portals=str(configs), data_dir=str(tmp_path / "threads"), delay=0,
                      shards=2, return_state=True)
    assert threads.is_completed(), threads.message
    cells = _warehouse_cells(tmp_path / "dask")
    assert len(cells) > 100 and cells == _warehouse_cells(tmp_path / "threads")
