"""Run the test portal in the foreground: ``python -m tests.portal [--port N] [--configs DIR]``.

Prints each site's base URL; stops cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from tests.portal.fixtures import start_portal, write_configs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.portal", description=__doc__)
    parser.add_argument("--port", type=int, default=0,
                        help="port for every site (default: any free)")
    parser.add_argument("--configs", type=Path, help="also write the portal configs to this folder")
    args = parser.parse_args(argv)

    portal = start_portal(args.port)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        for name in portal.sites:
            print(f"{name:10} {portal.base_url(name)}{portal.sites[name].start}", flush=True)
        if args.configs:
            for path in write_configs(portal, args.configs):
                print(f"config     {path}", flush=True)
        print("serving; Ctrl-C to stop", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        portal.stop()
    print(f"stopped after {len(portal.log)} requests", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
