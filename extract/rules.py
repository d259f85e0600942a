"""The quality rules as data: one registry of every rule a finding can name.

Each rule has its id (what the ``quality`` table's ``rule`` column holds), a short name, a
description, its kind (a report rule, a finding on one printed value, a cross-report rule or an
agency-identity rule), what its findings' ``scope`` names, whether it counts toward a reading's
faults when the PDF cascade compares readings, and how it is computed: the ``SumRule`` table of
``extract/checks.py`` for the arithmetic rules (their descriptions are its own), else the
function that computes it. The checks, the reading ranking
(``extract/document.py``), the quality table's documentation and data dictionary, the run
summary and the rule table in docs/design.md all read this registry; a rule is defined here once.

Here in ``extract`` because the warehouse imports ``extract`` and never the other way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from extract.checks import FRACTIONAL_COUNT, SUM_RULES, UNPARSEABLE_VALUE, SumRule


class RuleKind(str, Enum):
    REPORT = "report"  # one report's own cells; PASS, FAIL or UNCERTAIN per subject
    VALUE = "value"  # one printed value; a finding only where something is wrong
    CROSS_REPORT = "cross-report"  # several reports (years, duplicates, a portal's list)
    AGENCY = "agency"  # the name a report gives its body


class Scope(str, Enum):
    """What a finding's ``scope`` column names, per rule."""

    REPORT = "report"
    AGENCY_YEAR = "<agency>/<year>"  # agency_id, else the normalised name
    PORTAL_YEAR = "<portal>/<year>"  # the subject is then the agency the portal expects
    AGENCY_NAME = "agency:<name>[@<portal region>]/<year>"


@dataclass(frozen=True)
class Rule:
    """One quality rule; ``id`` is what its findings' ``rule`` column holds."""

    id: str
    name: str
    description: str
    kind: RuleKind
    scope: Scope
    # A FAIL (or UNCERTAIN) counts against a reading when the PDF cascade ranks readings.
    ranks_readings: bool
    computed_by: str  # "module.function" that computes it (for sum rules, the checker)
    sums: tuple[SumRule, ...] = ()


_CHECK_SUM = "extract.checks.check_sum"


def _sums(rule_id: str, name: str) -> Rule:
    """An arithmetic rule: its SumRule table (extract/checks.py) says how, and what."""
    sums = tuple(s for s in SUM_RULES if s.rule == rule_id)
    description = f"per {sums[0].per}, " + "; ".join(s.description for s in sums)
    return Rule(rule_id, name, description, RuleKind.REPORT, Scope.REPORT, True, _CHECK_SUM, sums)


RULES: dict[str, Rule] = {rule.id: rule for rule in (
    _sums("R1", "balance"),
    _sums("R2", "outcomes"),
    _sums("R3", "applicants"),
    _sums("R4", "appeals"),
    Rule("R5", "complete", "every template cell found; no negative counts (the 2019 `change` "
         "column may be)", RuleKind.REPORT, Scope.REPORT, True, "extract.checks.check_complete"),
    Rule("R6", "identified", "each table's template, the report year and the agency identified",
         RuleKind.REPORT, Scope.REPORT, False, "extract.checks.check_identified"),
    Rule(UNPARSEABLE_VALUE, "not a number", "a cell prints something that is not a number "
         "(e.g. `52O`): its value is null, its text kept, the rest of its row read; one FAIL per "
         "cell", RuleKind.VALUE, Scope.REPORT, False, "extract.checks.check_values"),
    Rule(FRACTIONAL_COUNT, "fraction in a count", "a count printed with a fraction (e.g. "
         "`524.5`), kept as printed (amounts in 万元 may have fractions); one FAIL per cell",
         RuleKind.VALUE, Scope.REPORT, False, "extract.checks.check_values"),
    Rule("OCR", "low OCR confidence", "a cell read by OCR from an image with a confidence "
         "below `LOW_CONFIDENCE` (extract/formats/scan_pdf.py): UNCERTAIN, its number kept",
         RuleKind.VALUE, Scope.REPORT, False, "extract.formats.scan_pdf.flag_ocr_cells"),
    Rule("W1", "continuity", "per column, this year's carried_over = last year's "
         "carried_forward (same agency identity, canonical reports)", RuleKind.CROSS_REPORT,
         Scope.AGENCY_YEAR, False, "warehouse.crosschecks.continuity"),
    Rule("W2", "timeliness", "published by the legal deadline of the following year: 31 January "
         "for departments, 31 March for governments (条例 art. 49)", RuleKind.CROSS_REPORT,
         Scope.AGENCY_YEAR, False, "warehouse.crosschecks.timeliness"),
    Rule("W3", "missing", "an agency a portal config lists under `agencies` has no report for a "
         "year the portal published reports for", RuleKind.CROSS_REPORT, Scope.PORTAL_YEAR,
         False, "warehouse.crosschecks.missing"),
    Rule("W4", "conflict", "a readable non-canonical report of an agency-year prints numbers "
         "that differ from the canonical one's", RuleKind.CROSS_REPORT, Scope.AGENCY_YEAR, False,
         "warehouse.crosschecks.conflicts"),
    Rule("A1", "agency identity", "the agency name a report gives is recognised as one body "
         "(PASS with its agency_id), else UNCERTAIN with the problem as subject "
         "(unknown_region, ambiguous_region, unknown_form), never a guess",
         RuleKind.AGENCY, Scope.AGENCY_NAME, False, "warehouse.agencies_load.identity_findings"),
)}

READING_RULES: frozenset[str] = frozenset(r.id for r in RULES.values() if r.ranks_readings)


def with_scope(scope: Scope) -> list[str]:
    """Ids of the rules whose findings have ``scope``."""
    return [r.id for r in RULES.values() if r.scope is scope]


def rules_markdown() -> list[str]:
    """The registry as a markdown table (the data dictionary and docs/design.md carry it)."""
    lines = ["| rule | name | kind | scope | what it checks | computed by |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r.id} | {r.name} | {r.kind.value} | `{r.scope.value}` | {r.description} | "
              f"`{r.computed_by}` |" for r in RULES.values()]
    return lines
