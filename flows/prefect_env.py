"""The environment Prefect runs under, in one place: no telemetry, and time for the ephemeral
server's first start on a small machine (~20 s on 2 cores).

Prefect reads these when it is imported, so they are set before that: by the ``nianbao``
command line as it starts (flows/cli.py), by the tests (tests/conftest.py), and for a command of
Prefect's own (``make serve`` starts ``prefect server``) by running it through this module:

    python -m flows.prefect_env prefect server start ...

A value already in the environment is kept.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, MutableMapping

PREFECT_ENV: Mapping[str, str] = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def apply_prefect_env(environ: MutableMapping[str, str] = os.environ) -> MutableMapping[str, str]:
    """Add Prefect's settings to ``environ`` (this process's by default) where unset; returns it,
    so that a child's environment can be made with ``apply_prefect_env(dict(os.environ))``."""
    for name, value in PREFECT_ENV.items():
        environ.setdefault(name, value)
    return environ


def main(argv: list[str]) -> None:
    """Run a command (``argv``) with Prefect's settings in its environment."""
    if not argv:
        sys.exit("usage: python -m flows.prefect_env COMMAND [ARGS...]")
    os.execvpe(argv[0], argv, dict(apply_prefect_env(dict(os.environ))))


if __name__ == "__main__":
    main(sys.argv[1:])
