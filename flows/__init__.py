"""Orchestration: the Prefect flows that run crawlers -> extract -> warehouse, and the CLI.

Prefect's environment (no telemetry, the server's startup time) is set in flows/prefect_env.py.
"""
