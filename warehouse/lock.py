"""The warehouse lock: one writer at a time, and a refusal that names the live holder.

The lock is an ``flock`` on ``warehouse/.lock``; the kernel releases it when its holder dies, so
a killed load never blocks the next one. The file also records who took it (run id, pid, since)
and is emptied on release: a record left behind names a holder that died holding the lock
(stale). The record alone can lie (an old record, or a lock taken by another tool), so a refusal
asks the kernel (``/proc/locks``) which process holds the lock and trusts the record only when
its pid is that process.

A command that does long work before it loads (``nianbao rebuild``) takes the lock first with
``hold`` and keeps it; the load's own ``hold`` inside it is then a no-op in the same thread.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from warehouse.failed_load import DiskFull, is_disk_full

LOCK_FILE = ".lock"
_HELD_GUARD = threading.Lock()


@dataclass
class _Holding:
    """This process's hold of a warehouse lock (flock is per open file: a second open in the
    same process would refuse itself, so holds are tracked here)."""

    thread: int
    run_id: str
    loading: bool
    handle: object = None


_HELD: dict[Path, _Holding] = {}


def _drop_inherited_locks() -> None:
    """In a forked child (an extraction worker): close the inherited lock files. The flock
    belongs to the open file, so a child keeping it would hold the warehouse locked after its
    parent died; closing the child's copy leaves the parent's lock as it is."""
    for holding in _HELD.values():
        try:
            holding.handle.close()
        except (OSError, AttributeError):
            pass
    _HELD.clear()


os.register_at_fork(after_in_child=_drop_inherited_locks)


@dataclass
class LockHolder:
    """Who holds (or last held) the lock; any field may be unknown."""

    pid: int | None = None
    run_id: str | None = None
    since: str | None = None
    command: str | None = None

    def describe(self) -> str:
        parts = [f"pid {self.pid}" if self.pid else None,
                 f"since {self.since}" if self.since else None,
                 self.command and f"command {self.command!r}"]
        details = ", ".join(p for p in parts if p)
        who = f"run {self.run_id}" if self.run_id else "a process"
        return f"{who} ({details})" if details else who


class WarehouseLocked(RuntimeError):
    """Another process (or thread) holds the warehouse lock."""

    kind = "locked"

    def __init__(self, holder: LockHolder, note: str = "") -> None:
        self.holder = holder
        super().__init__(f"the warehouse is locked by {holder.describe()}{note}; "
                         "try again when it has finished")


def read_record(lock_path: Path) -> LockHolder | None:
    """The holder recorded in the lock file, or None when it is empty or unreadable."""
    try:
        data = json.loads(lock_path.read_text(encoding="utf-8"))
        return LockHolder(pid=data.get("pid"), run_id=data.get("run_id"), since=data.get("since"))
    except (OSError, ValueError, AttributeError):
        return None


def kernel_holder_pid(lock_path: Path) -> int | None:
    """The pid holding an flock on ``lock_path`` according to /proc/locks (Linux), or None."""
    try:
        stat = lock_path.stat()
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    wanted = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" ("->" marks a waiter)
        if "->" in fields or len(fields) < 6 or fields[1] != "FLOCK":
            continue
        if fields[5] == wanted:
            return int(fields[4])
    return None


def _command_of(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)[:120]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_holder(lock_path: Path) -> tuple[LockHolder, str]:
    """The process holding the lock now, and a note when the file's record is stale."""
    record = read_record(lock_path)
    pid = kernel_holder_pid(lock_path)
    if record and (pid is None or record.pid == pid):
        return LockHolder(record.pid, record.run_id, record.since,
                          _command_of(record.pid) if record.pid else None), ""
    note = ""
    if record and record.pid:
        note = f"; the lock file's record of run {record.run_id} (pid {record.pid}) is stale"
    return LockHolder(pid=pid, command=_command_of(pid) if pid else None), note


def stale_record(lock_path: Path) -> LockHolder | None:
    """A holder recorded in a lock nobody holds: it died without releasing (kill -9)."""
    record = read_record(lock_path)
    if record is None or kernel_holder_pid(lock_path) is not None:
        return None
    if record.pid == os.getpid() or (record.pid and _alive(record.pid)):
        return None
    return record


def check_unlocked(root: Path) -> LockHolder | None:
    """Refuse (``WarehouseLocked``) when another process holds the lock, before any work.

    Returns the stale record of a holder that died holding it (the lock is free), else None.
    """
    lock_path = Path(root) / LOCK_FILE
    holding = _HELD.get(Path(root).resolve())
    if not lock_path.exists() or (holding and holding.thread == threading.get_ident()):
        return None
    with lock_path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WarehouseLocked(*live_holder(lock_path)) from None
        fcntl.flock(handle, fcntl.LOCK_UN)
    return stale_record(lock_path)


@contextmanager
def hold(root: Path, run_id: str, *, load: bool = False) -> Iterator[None]:
    """Hold the warehouse lock for ``run_id``; refuses (``WarehouseLocked``) when it is taken.

    Inside a hold of the same thread (a rebuild around its load) a ``load`` goes ahead; a load
    inside a load is refused."""
    root = Path(root).resolve()
    with _HELD_GUARD:
        holding = _HELD.get(root)
    if holding is not None:
        if holding.thread != threading.get_ident() or (load and holding.loading):
            where = "this thread" if holding.thread == threading.get_ident() else (
                f"another thread ({holding.thread})")
            raise WarehouseLocked(LockHolder(pid=os.getpid(), run_id=holding.run_id,
                                             command=f"{where} of this process"))
        outer, holding.loading = holding.loading, load or holding.loading
        try:
            yield
        finally:
            holding.loading = outer
        return
    lock_path = root / LOCK_FILE
    # unbuffered: a failed write (full disk) must not fail again when the file is closed
    handle = lock_path.open("a+b", buffering=0)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise WarehouseLocked(*live_holder(lock_path)) from None
    try:
        handle.truncate(0)
        handle.write(json.dumps({"run_id": run_id, "pid": os.getpid(), "since": datetime.now(
            UTC).isoformat(timespec="seconds")}).encode())
    except OSError as exc:
        handle.truncate(0)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
        if is_disk_full(exc):
            raise DiskFull(root, f"could not record the lock of run {run_id}; nothing was "
                                 "written") from exc
        raise
    with _HELD_GUARD:
        _HELD[root] = _Holding(threading.get_ident(), run_id, load, handle)
    try:
        yield
    finally:
        with _HELD_GUARD:
            _HELD.pop(root, None)
        try:  # an empty file says the last holder released it (not stale)
            handle.truncate(0)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
