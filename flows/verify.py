"""``nianbao verify``: an fsck of the data dir. Every raw-store object against its name (a damaged
one is quarantined), the manifest against the store, the published snapshot against the Delta
logs, every published table readable to the end. ``--repair`` republishes the latest consistent
versions from the Delta history; nothing is ever deleted.

The nightly flow runs the same checks on what the run touched (the objects it fetched or
extracted, the table files it wrote) and records the problems as quality findings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from crawlers.rawstore import CorruptObject, Quarantined, RawStore
from warehouse.store import Warehouse
from warehouse.verify import Problem, check_snapshot, check_tables, record_findings, repair

REFETCH = "the next `nianbao crawl` or `nianbao run` of its portal fetches it again"
_HEX = frozenset("0123456789abcdef")


@dataclass
class VerifyReport:
    problems: list[Problem] = field(default_factory=list)
    objects_checked: int = 0
    manifest_rows: int = 0
    tables_checked: int = 0
    republished: dict[str, int] | None = None  # what --repair published
    repair_found_nothing: bool = False  # --repair was needed but the history has no snapshot


def quarantine_problem(entry: Quarantined) -> Problem:
    return Problem(CorruptObject.kind, "raw_store", entry.sha256,
                   f"its {entry.size} bytes hash to {entry.actual_sha256[:16]}…; moved to "
                   f"{entry.moved_to}, not extracted", REFETCH)


def check_objects(store: RawStore, names: Iterable[str]) -> tuple[list[Problem], int]:
    """Hash each object against its name; a mismatch is quarantined and reported."""
    problems, checked = [], 0
    for name in names:
        if len(name) != 64 or not set(name) <= _HEX:
            problems.append(Problem("stray_object", "raw_store", name,
                                    "a file in raw/objects whose name is not a sha256",
                                    "move it out of raw/objects (nianbao never wrote it)"))
            continue
        try:
            store.verify(name)
        except FileNotFoundError:
            continue  # absent: the manifest check names what is missing
        except CorruptObject as exc:
            problems.append(quarantine_problem(exc.quarantine))
        checked += 1
    return problems, checked


def check_manifest(store: RawStore, only: set[str] | None = None,
                   reported: set[str] = frozenset()) -> tuple[list[Problem], int]:
    """Every manifest line parses (a torn last line of a killed crawl is expected) and every
    fetched object is in the store; ``only``: just the rows of these objects; ``reported``:
    objects already named (quarantined by this check)."""
    if not store.manifest.exists():
        return [], 0
    problems, rows, seen = [], 0, set()
    quarantined = {q.sha256: q for q in store.quarantined()}
    lines = store.manifest.read_text(encoding="utf-8", errors="replace").splitlines()
    for number, line in enumerate(lines, 1):
        try:
            sha256 = json.loads(line)["sha256"]
        except (json.JSONDecodeError, KeyError, TypeError):
            if number < len(lines):
                problems.append(Problem("manifest_damaged", "manifest", f"line {number}",
                                        f"{store.manifest} line {number} is not a manifest row",
                                        "the fetch it recorded is ignored; "
                                        "the next crawl records it again"))
            continue
        rows += 1
        if sha256 in seen or sha256 in reported or (only is not None and sha256 not in only):
            continue
        seen.add(sha256)
        if store.path_of(sha256).exists():
            continue
        if sha256 in quarantined:
            problems.append(Problem("object_quarantined", "raw_store", sha256,
                                    f"quarantined at {quarantined[sha256].at} and not fetched "
                                    "again yet", REFETCH))
        else:
            problems.append(Problem("object_missing", "raw_store", sha256,
                                    "the manifest records this object, the store does not "
                                    "hold it", REFETCH))
    return problems, rows


def verify(data_dir: Path, *, repair_snapshot: bool = False,
           objects: Iterable[str] | None = None, since: datetime | None = None) -> VerifyReport:
    """Check everything (``objects`` None), or only ``objects`` and the table files written
    ``since`` (the nightly run), with the objects quarantined since then."""
    store, warehouse = RawStore(data_dir), Warehouse(data_dir)
    report = VerifyReport()
    if since is not None:
        report.problems += [quarantine_problem(q) for q in store.quarantined(since)]
    names = list(store.object_names() if objects is None else dict.fromkeys(objects))
    found, report.objects_checked = check_objects(store, names)
    report.problems += found
    quarantined_now = {p.subject for p in report.problems if p.kind == CorruptObject.kind}
    found, report.manifest_rows = check_manifest(store, None if objects is None else set(names),
                                                 quarantined_now)
    report.problems += found
    snapshot_problems = check_snapshot(warehouse)
    if repair_snapshot and snapshot_problems:  # a damaged table file alone is not repaired by
        # publishing older versions: the next load would roll newer runs rows out of view
        report.republished = repair(warehouse)
        report.repair_found_nothing = report.republished is None
        snapshot_problems = check_snapshot(warehouse)
    report.problems += snapshot_problems + check_tables(warehouse, since)
    report.tables_checked = len(warehouse.delta_tables())
    return report


def touched_objects(data_dir: Path, since: datetime, extracted: Iterable[str]) -> list[str]:
    """Objects a run touched: those fetched since it started and those it extracted."""
    cutoff = since.replace(microsecond=0)  # the manifest records whole seconds
    fetched = [row.sha256 for row in RawStore(data_dir).rows()
               if datetime.fromisoformat(row.fetched_at) >= cutoff]
    return list(dict.fromkeys([*fetched, *extracted]))


def record_quarantined(data_dir: Path, run_id: str, since: datetime) -> list[Problem]:
    """Objects quarantined since ``since`` (while a run read them), recorded as ``run_id``'s
    quality findings."""
    problems = [quarantine_problem(q) for q in RawStore(data_dir).quarantined(since)]
    record_findings(Warehouse(data_dir), run_id, problems)
    return problems


def verify_run(data_dir: Path, run_id: str, since: datetime,
               extracted: Iterable[str]) -> list[Problem]:
    """The nightly run's check of what it touched; its problems recorded as quality findings."""
    report = verify(data_dir, objects=touched_objects(data_dir, since, extracted), since=since)
    record_findings(Warehouse(data_dir), run_id, report.problems)
    return report.problems
