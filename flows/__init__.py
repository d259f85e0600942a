"""Orchestration: the Prefect flows that run crawlers -> extract -> warehouse, and the CLI."""
