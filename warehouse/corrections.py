"""The corrections registry: manual fixes to printed numbers, each with who, why and a source.

Applied at load. A corrected cell keeps the number as printed (``original_value``) and its raw
text, and carries ``corrected = true``. An entry naming a cell key the schema does not have is an
error, not silently ignored.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml
import zhconv

from extract.schema import every_key

DEFAULT_REGISTRY = Path(__file__).with_name("corrections.yaml")
_REQUIRED = ("agency", "year", "cell", "value", "who", "why", "source")
_KNOWN_KEYS = every_key()


def agency_key(agency: str | None) -> str | None:
    """An agency name normalised for matching: NFKC, simplified script, no spaces."""
    if not agency:
        return None
    text = zhconv.convert(unicodedata.normalize("NFKC", agency), "zh-cn")
    return "".join(text.split())


@dataclass(frozen=True)
class Correction:
    agency: str
    year: int
    cell: str
    value: float | None
    who: str
    why: str
    source: str

    @property
    def note(self) -> str:
        return f"{self.who}: {self.why} ({self.source})"


class CorrectionError(ValueError):
    pass


def load_corrections(path: Path = DEFAULT_REGISTRY) -> list[Correction]:
    if not Path(path).exists():
        return []
    entries = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    corrections = []
    for n, entry in enumerate(entries, start=1):
        missing = [k for k in _REQUIRED if k not in (entry or {})]
        if missing:
            raise CorrectionError(f"{path}: entry {n}: missing {', '.join(missing)}")
        if entry["cell"] not in _KNOWN_KEYS:
            raise CorrectionError(f"{path}: entry {n}: cell {entry['cell']!r} is not a schema key")
        corrections.append(Correction(str(entry["agency"]), int(entry["year"]), entry["cell"],
                                      None if entry["value"] is None else float(entry["value"]),
                                      str(entry["who"]), str(entry["why"]), str(entry["source"])))
    return corrections


def index(corrections: list[Correction]) -> dict[tuple[str, int], dict[str, Correction]]:
    """Corrections by (agency key, year), then by cell key."""
    found: dict[tuple[str, int], dict[str, Correction]] = {}
    for c in corrections:
        found.setdefault((agency_key(c.agency), c.year), {})[c.cell] = c
    return found
