"""Agency identity: which body a report's title names, as a stable ``agency_id``.

Reports title the same body differently from year to year (洪泽区人民政府, 淮安市洪泽区人民政府) and
the same words name different bodies in different places. A name is read by rules, then by the
reviewed registry ``agencies.yaml``:

1. normalised: NFKC (full-width forms), simplified script, no spaces, brackets unified;
2. the region prefix is read against the GB/T 2260 divisions (``agencies_divisions.py``), inside
   the portal's region where the portal config states one;
3. what is left is the body's form: 人民政府 (government), 人民政府办公室/办公厅 (its general
   office), a development zone with or without 管委会/管理委员会 (zone committee), a 局/委/办…
   (department), a 镇/乡/街道 body (township).

The registry names an agency's id, canonical name, aliases and facts, each entry with who, why and
a source (like the corrections registry); its aliases win over the rules. An alias may hold for
some report years only (``from``/``until``): a name that meant one body before a split and
another after it. A name neither reads is
a finding with a ``kind`` (unknown_region, ambiguous_region, unknown_form) and no agency_id:
never a guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
import zhconv

from warehouse.agencies_divisions import LEVELS, Division, divisions, read_regions

DEFAULT_REGISTRY = Path(__file__).with_name("agencies.yaml")
KINDS = ("government", "general_office", "department", "zone_committee", "other")
_ID_TAGS = {"government": "gov", "general_office": "office", "department": "dept",
            "zone_committee": "zone", "other": "other"}

_GOVERNMENT = re.compile(r"^(人民政府|政府)$")
_OFFICE = re.compile(r"^(人民政府|政府)办(公室|公厅)$")
_ZONE = re.compile(r"^(?P<zone>.{0,20}?(开发区|高新区|新区|园区|实验区|示范区|"
                   r"保税区|合作区|试验区))(管委会|管理委员会)?$")
_TOWNSHIP = re.compile(r"^(?P<town>.{1,10}?(镇|乡|街道))(?P<body>人民政府|政府|办事处)?$")
_DEPARTMENT = re.compile(r"^.{1,30}(局|厅|委员会|委|办公室|办|中心|署|部|院|会)$")
_CENTRAL = {"国务院": "government", "国务院办公厅": "general_office"}


@dataclass(frozen=True)
class Agency:
    agency_id: str
    name: str  # canonical
    kind: str
    level: str | None
    division_code: str | None
    province: str | None = None
    prefecture: str | None = None
    county: str | None = None
    parent_id: str | None = None
    aliases: tuple[str, ...] = ()
    source: str = "rules"  # rules, or the registry entry's who/why/source


@dataclass(frozen=True)
class Resolution:
    """What a name says: an agency, or a finding of ``kind`` with no agency."""

    name: str
    agency: Agency | None
    kind: str = "identified"  # or unknown_region, ambiguous_region, unknown_form
    message: str = ""


class AgencyRegistryError(ValueError):
    pass


@lru_cache(maxsize=1 << 18)  # every load normalises each name of the warehouse again
def normalise(name: str) -> str:
    """NFKC (full-width letters, digits and brackets), simplified script, no spaces."""
    text = zhconv.convert(unicodedata.normalize("NFKC", name), "zh-cn")
    return "".join(text.split()).replace("〔", "(").replace("〕", ")")


def _region_facts(division: Division | None) -> dict:
    if division is None:
        return {"division_code": None, "province": None, "prefecture": None, "county": None}
    return {"division_code": division.code, "province": division.province,
            "prefecture": division.prefecture, "county": division.county}


def _government_id(division: Division | None) -> str | None:
    return f"{division.code}-gov" if division else None


def _full_name(division: Division) -> str:
    """The region as a prefix: 淮安市洪泽区 for 洪泽区, 重庆市大足区 for 大足区 (the province of a
    prefecture or county is left out, as the bodies themselves write their names)."""
    if division.level == "county":
        return (division.prefecture or division.province) + division.name
    return division.name


def agency_from_form(body: str, division: Division | None) -> tuple[Agency | None, str]:
    """The agency a body's form names inside ``division`` (None: central), or why not."""
    if division is None:
        if body in _CENTRAL:
            kind = _CENTRAL[body]
            return Agency(f"cn-{_ID_TAGS[kind]}", body, kind, "central", None), ""
        return None, "unknown_region"
    level, parent = division.level, _government_id(
        divisions().by_code.get(division.parent) if division.parent else None)
    facts = _region_facts(division)
    prefix = _full_name(division)
    if _GOVERNMENT.match(body):
        return Agency(f"{division.code}-gov", f"{prefix}人民政府", "government", level,
                      parent_id=parent, **facts), ""
    if _OFFICE.match(body):
        office = "办公厅" if level == "province" else "办公室"
        return Agency(f"{division.code}-office", f"{prefix}人民政府{office}", "general_office",
                      level, parent_id=_government_id(division), **facts), ""
    if zone := _ZONE.match(body):
        name = zone["zone"]
        return Agency(f"{division.code}-zone-{name}", f"{prefix}{name}管理委员会",
                      "zone_committee", level, parent_id=_government_id(division), **facts), ""
    if town := _TOWNSHIP.match(body):
        subdistrict = town["body"] == "办事处" or (town["body"] is None
                                                  and town["town"].endswith("街道"))
        kind = "other" if subdistrict else "government"
        suffix = "办事处" if subdistrict else "人民政府"
        return Agency(f"{division.code}-town-{town['town']}", f"{prefix}{town['town']}{suffix}",
                      kind, "township", parent_id=_government_id(division), **facts), ""
    if _DEPARTMENT.match(body) and not body.startswith(("人民政府", "政府")):
        return Agency(f"{division.code}-dept-{body}", f"{prefix}{body}", "department", level,
                      parent_id=_government_id(division), **facts), ""
    return None, "unknown_form"


@dataclass(frozen=True)
class Alias:
    agency_id: str
    first_year: int | None = None  # report years the name means this agency (None: open)
    last_year: int | None = None

    def holds(self, year: int | None) -> bool:
        if self.first_year is None and self.last_year is None:
            return True
        return year is not None and (self.first_year or year) <= year <= (self.last_year or year)

    def overlaps(self, other: Alias) -> bool:
        low = max(self.first_year or 0, other.first_year or 0)
        return low <= min(self.last_year or 9999, other.last_year or 9999)


@dataclass
class Registry:
    """The reviewed registry: agencies by id, and the aliases that name them."""

    agencies: dict[str, Agency] = field(default_factory=dict)
    aliases: dict[str, list[Alias]] = field(default_factory=dict)  # by normalised name

    def lookup(self, name: str, year: int | None) -> Agency | None:
        """The agency a name means in a report ``year`` (a year-bound alias: only in it)."""
        for alias in self.aliases.get(normalise(name), ()):
            if alias.holds(year):
                return self.agencies[alias.agency_id]
        return None


def _aliases(entry: dict, agency_id: str) -> list[tuple[str, Alias]]:
    """(name, alias) for the entry's name and aliases; the name holds in every year unless an
    alias gives it years (a split: the same name means another body in other years)."""
    found = []
    for alias in entry.get("aliases") or ():
        if isinstance(alias, dict):
            if not alias.get("name") or not ({"from", "until"} & set(alias)) or set(alias) - {
                    "name", "from", "until"}:
                raise AgencyRegistryError(f"{agency_id}: alias {alias!r} is not "
                                          "{name, from and/or until}")
            found.append((str(alias["name"]), Alias(agency_id, alias.get("from"),
                                                    alias.get("until"))))
        else:
            found.append((str(alias), Alias(agency_id)))
    if all(normalise(name) != normalise(str(entry["name"])) for name, _ in found):
        found.insert(0, (str(entry["name"]), Alias(agency_id)))
    return found


_REQUIRED = ("agency_id", "name", "kind", "who", "why", "source")
_CODE = re.compile(r"^\d{6}$")


def load_registry(path: Path = DEFAULT_REGISTRY) -> Registry:
    """Read ``agencies.yaml``; an entry without who/why/source, with an unknown kind or level,
    a division code GB/T 2260 does not have (now, or as a division ``abolished`` in a given
    year), or an alias two agencies claim for the same years is refused."""
    registry = Registry()
    if not Path(path).exists():
        return registry
    entries = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    for n, entry in enumerate(entries, start=1):
        where = f"{path}: entry {n}"
        missing = [k for k in _REQUIRED if not (entry or {}).get(k)]
        if missing:
            raise AgencyRegistryError(f"{where}: missing {', '.join(missing)}")
        if entry["kind"] not in KINDS:
            raise AgencyRegistryError(f"{where}: kind {entry['kind']!r} is not one of {KINDS}")
        code = None if entry.get("division_code") is None else str(entry["division_code"])
        division = divisions().by_code.get(code) if code else None
        if code and division is None and not (entry.get("abolished") and _CODE.match(code)):
            raise AgencyRegistryError(f"{where}: division_code {code} is not a GB/T 2260 code "
                                      "(a former division needs `abolished: YEAR`)")
        level = entry.get("level") or (division.level if division else None)
        if level is not None and level not in LEVELS:
            raise AgencyRegistryError(f"{where}: level {level!r} is not one of {LEVELS}")
        agency_id = str(entry["agency_id"])
        names = _aliases(entry, agency_id)
        facts = {k: v for k, v in _region_facts(division).items() if k != "division_code"}
        facts.update({k: entry[k] for k in ("province", "prefecture", "county") if entry.get(k)})
        registry.agencies[agency_id] = Agency(
            agency_id, str(entry["name"]), entry["kind"], level, code, **facts,
            parent_id=entry.get("parent_id"),
            aliases=tuple(n for n, _ in names if n != str(entry["name"])),
            source=f"{entry['who']}: {entry['why']} ({entry['source']})")
        for name, alias in names:
            claimed = registry.aliases.setdefault(normalise(name), [])
            for other in claimed:
                if other.agency_id != agency_id and other.overlaps(alias):
                    raise AgencyRegistryError(f"{where}: alias {name!r} already names "
                                              f"{other.agency_id} in those years")
            claimed.append(alias)
    return registry


class AgencyResolver:
    """Names (with the portal's region and the report year, where known) -> Resolution."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry if registry is not None else load_registry()
        self._cache: dict[tuple[str, str | None, int | None], Resolution] = {}

    def region(self, text: str | None) -> Division | None:
        """The deepest division a region text (a portal config's ``region``) names, if one."""
        if not text:
            return None
        chain, _ = read_regions(normalise(text))
        return chain[-1][0] if chain and len(chain[-1]) == 1 else None

    def resolve(self, name: str | None, region: str | None = None,
                year: int | None = None) -> Resolution:
        if not name:
            return Resolution("", None, "unknown_form", "no agency name")
        # The year matters only where the registry binds the name to years (a split): else
        # the six reports of a body resolve once.
        bound = any(a.first_year is not None or a.last_year is not None
                    for a in self.registry.aliases.get(normalise(name), ()))
        key = (name, region, year if bound else None)
        if key not in self._cache:
            self._cache[key] = self._resolve(name, region, year)
        return self._cache[key]

    def _resolve(self, name: str, region: str | None, year: int | None) -> Resolution:
        text = normalise(name)
        if registered := self.registry.lookup(text, year):
            return Resolution(name, registered)
        within = self.region(region)
        chain, position = read_regions(text, within)
        if not chain and within:  # the portal's region only settles ambiguity: a name that
            chain, position = read_regions(text)  # says its region off that branch says it
        body = text[position:]
        if chain and len(chain[-1]) > 1:
            places = ", ".join(f"{d.code} {d.province}{d.prefecture or ''}{d.name}"
                               for d in chain[-1][:5])
            return Resolution(name, None, "ambiguous_region",
                              f"{name}: the region may be any of {places}; "
                              "name it in warehouse/agencies.yaml")
        division = chain[-1][0] if chain else None
        if division is None and within is not None and within.level == "county" and \
                _TOWNSHIP.match(body):
            division = within  # a township names no county: the county portal's region does
        agency, problem = agency_from_form(body, division)
        if agency is None:
            message = (f"{name}: no GB/T 2260 region in the name" if problem == "unknown_region"
                       else f"{name}: {body!r} is not a known form of a body")
            return Resolution(name, None, problem,
                              message + "; add it to warehouse/agencies.yaml")
        registered = self.registry.agencies.get(agency.agency_id)
        return Resolution(name, registered or agency)
