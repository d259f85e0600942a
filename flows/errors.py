"""The one error handler of the ``nianbao`` command line.

Errors of an expected kind (a bad file, the warehouse locked, a full disk, a damaged table, a
refused query …) print one line ``kind: message`` on stderr and exit 1, never a traceback; the
global ``--debug`` (or ``NIANBAO_DEBUG=1``) shows the traceback instead. An error's kind is its
``kind`` attribute (``WarehouseLocked.kind == "locked"``), so any module's exception class joins
by defining one; the OS's own file errors and a full disk are recognised here. Anything else is a
bug and keeps its traceback.

Every command of an ``ErrorHandlingTyper`` app gets the handler; ``handle_errors`` is the same
handler as a decorator, for commands registered elsewhere.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from warehouse.failed_load import is_disk_full

_debug = {"on": os.environ.get("NIANBAO_DEBUG", "") not in ("", "0")}
_BAD_FILE = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)

F = TypeVar("F", bound=Callable[..., Any])


def set_debug(on: bool) -> None:
    """Show tracebacks of expected errors too (the global ``--debug``)."""
    _debug["on"] = on or _debug["on"]


def error_kind(exc: BaseException) -> str | None:
    """The kind of an expected error, or None for anything else (a bug)."""
    kind = getattr(exc, "kind", None)
    if isinstance(kind, str):
        return kind
    if isinstance(exc, OSError) and is_disk_full(exc):
        return "disk_full"
    if isinstance(exc, _BAD_FILE):
        return "bad_file"
    return None


def handle_errors(command: F) -> F:
    """Run ``command``; an expected error becomes one line on stderr and exit status 1."""

    @functools.wraps(command)
    def handled(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except Exception as exc:
            kind = error_kind(exc)
            if kind is None or _debug["on"]:
                raise
            typer.echo(f"{kind}: {exc}", err=True)
            raise typer.Exit(1) from None

    return handled  # type: ignore[return-value]


class ErrorHandlingTyper(typer.Typer):
    """A Typer app whose every ``@app.command()`` runs under ``handle_errors``."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(function: F) -> F:
            register(handle_errors(function))
            return function

        return decorator
