"""Task runners for the nightly flow: threads on one machine (each extraction is its own process
anyway), or a Dask cluster (prefect-dask) to spread extraction over many machines."""

from __future__ import annotations

from prefect.task_runners import ThreadPoolTaskRunner

RUNNERS = ("threads", "dask")


def make_task_runner(kind: str = "threads", workers: int = 4, address: str | None = None):
    """``threads``: a thread pool of ``workers``. ``dask``: the cluster at ``address`` (e.g.
    ``tcp://scheduler:8786``), or a local cluster of ``workers`` processes."""
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind != "dask":
        raise ValueError(f"task runner {kind!r}: use one of {', '.join(RUNNERS)}")
    import dask
    from prefect_dask import DaskTaskRunner

    # Each extraction runs in a child process with a time limit; Dask's default daemonic worker
    # processes may not have children.
    dask.config.set({"distributed.worker.daemon": False})
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})
