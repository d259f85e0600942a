"""Processes a run starts die with it, even under ``kill -9``: each is started with
PR_SET_PDEATHSIG, so the kernel kills it when the process that started it dies.

The setting is made by a tiny launcher (``python -m flows.children PARENT_PID COMMAND...``)
that sets it and then execs the command (it survives exec), not by a ``preexec_fn``, which is
unsafe in a process with threads (the flow's tasks run in threads).

Prefect's own ephemeral API server is started without it and outlives a killed run (parent pid
1, once per kill). ``nianbao run`` therefore starts that server itself, as such a child, and
points PREFECT_API_URL at it. The crawl subprocesses (flows/crawling.py) start the same way.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def dying_with_this_process(command: list[str]) -> list[str]:
    """``command``, started so that the kernel SIGKILLs it when the thread that starts it
    dies: start long-lived children from the main thread (a worker thread that waits for its
    child, as subprocess.run does, is fine too)."""
    if _libc is None:  # not Linux: no such guarantee, run it as it is
        return command
    return [sys.executable, "-m", "flows.children", str(os.getpid()), *command]


def _launch(argv: list[str]) -> None:
    parent, command = int(argv[0]), argv[1:]
    if _libc is None or _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the prctl: do not start at all
        os._exit(1)
    os.execv(command[0], command)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerStartError(RuntimeError):
    kind = "prefect_server"


@contextmanager
def prefect_server(timeout: float = 120.0) -> Iterator[str]:
    """A Prefect API server for this process only (as Prefect's ephemeral one: uvicorn, no UI,
    the local database), dying with it; yields its API URL and stops it on exit."""
    import prefect
    from prefect.settings import get_current_settings

    port = _free_port()
    env = {**os.environ, **get_current_settings().to_environment_variables(exclude_unset=True),
           "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
           "PREFECT__SERVER_FINAL": "1"}
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent),
               "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "error", "--lifespan", "on"]
    server = subprocess.Popen(dying_with_this_process(command), env=env)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                raise ServerStartError(f"the Prefect server exited {server.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ServerStartError(f"no Prefect server at {url} after {timeout:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    _launch(sys.argv[1:])
