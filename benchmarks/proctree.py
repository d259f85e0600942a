"""Run a command and measure its whole process tree: wall, CPU, peak memory, timed output lines.

CPU is ``RUSAGE_CHILDREN`` before and after (every descendant the command waited for: crawler
subprocesses, extraction workers, the run's own Prefect server). Memory is the sum of the PSS of
every live process in the tree, sampled from /proc a few times a second: a page shared by n
processes counts 1/n in each, so the sum is the memory the tree really holds (a sum of RSS would
count the flow's pages again in every forked extraction worker).
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Measured:
    returncode: int
    wall_s: float
    cpu_s: float
    peak_memory: int  # bytes
    peak_processes: int
    timed_out: bool = False  # killed (the whole tree, SIGKILL) at the timeout
    lines: list[tuple[float, str]] = field(default_factory=list)  # (seconds from start, line)
    peak_by_process: dict[str, int] = field(default_factory=dict)  # the PSS of each at the peak

    def first(self, needle: str) -> float | None:
        """Seconds from start to the first output line containing ``needle``."""
        return next((t for t, line in self.lines if needle in line), None)


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                text = Path(entry.path, "stat").read_text()
            except OSError:  # gone since the listing
                continue
            parents[int(entry.name)] = int(text.rsplit(")", 1)[1].split()[1])
    return parents


def tree(root: int) -> list[int]:
    """``root`` and every live descendant."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _pss(pid: int) -> int:
    """Proportional set size in bytes: each page shared by n processes counts 1/n (forked
    extraction workers share the flow's pages; their RSS would count them again)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    raise ValueError("no Pss line")


def rss_by_process(pids: list[int]) -> dict[str, int]:
    """Memory in bytes (PSS) of each of ``pids`` still alive, keyed "pid name"."""
    found = {}
    for pid in pids:
        try:
            size = _pss(pid)
            line = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        words = [w.decode(errors="replace").rsplit("/", 1)[-1] for w in line[:3] if w]
        found[f"{pid} {' '.join(words)[:60]}"] = size
    return found


def rss(pids: list[int]) -> int:
    return sum(rss_by_process(pids).values())


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            interval: float = 0.25, echo: bool = False,
            timeout: float | None = None) -> Measured:
    """Run ``command`` to its end (or kill its whole tree after ``timeout`` seconds), sampling
    its tree's memory and collecting its output lines (stdout and stderr merged) with the time
    each arrived."""
    cpu_before, started = _cpu_of_children(), time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, errors="replace")
    lines: list[tuple[float, str]] = []

    def read_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append((time.perf_counter() - started, line.rstrip("\n")))
            if echo:
                print(line, end="", flush=True)

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    peak_memory = peak_processes = 0
    peak_by_process: dict[str, int] = {}
    timed_out = False
    while process.poll() is None:
        pids = tree(process.pid)
        sample = rss_by_process(pids)
        if sum(sample.values()) > peak_memory:
            peak_memory, peak_by_process = sum(sample.values()), sample
        peak_processes = max(peak_processes, len(pids))
        if timeout is not None and time.perf_counter() - started > timeout and not timed_out:
            timed_out = True
            for pid in pids:  # only this command's own tree, each by its id
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        time.sleep(interval)
    wall = time.perf_counter() - started
    reader.join(timeout=10)
    return Measured(process.returncode, wall, _cpu_of_children() - cpu_before, peak_memory,
                    peak_processes, timed_out, lines, peak_by_process)
