"""Orchestration: the Prefect flows that run crawlers -> extract -> warehouse, and the CLI."""

import os

# Prefect runs wherever flows/ is imported: no telemetry, and time for the ephemeral server's
# first start on a small machine (~20 s on 2 cores).
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
