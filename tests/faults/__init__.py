"""Fault tests: hostile input, hostile servers, killed processes, full disks, damaged files."""
