"""Is a title an annual report, a variant of one, or a decoy? Which agency and year does it name?

The patterns are data: a portal adds its own with ``include`` / ``exclude`` in its config.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

REPORT = re.compile(r"(政府信息公开|政务公开|信息公开)(工作)?(年度)?(报告|年报)")
# Pages about reports that are not reports: notices, formats, rules, aggregations, other reports.
DECOY = re.compile(r"(通知|格式|制度|办法|要点|专题页面|集中公开|解读|图解|一图读懂|"
                   r"预算|决算|法治政府|政府工作报告|征求意见|目录|指南)")
VARIANT = re.compile(r"[（(](图片版|超链版|修订版|更正|更正版|第二版|全文)[)）]\s*$")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年度?")
_REPORT_PHRASE = re.compile(r"(?:的)?\s*(?:政府信息公开|政务公开|信息公开)")
_QUOTES = str.maketrans("", "", "“”\"《》")


def normalise_title(title: str) -> str:
    text = unicodedata.normalize("NFKC", title or "").translate(_QUOTES)
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class TitleVerdict:
    is_report: bool
    reason: str
    variant: str | None = None  # 图片版 / 超链版 / …: a variant of a report, not a new one
    year: int | None = None
    agency: str | None = None


def classify_title(title: str | None, include: tuple[str, ...] = (),
                   exclude: tuple[str, ...] = ()) -> TitleVerdict:
    """Whether ``title`` names an annual report (with its agency and year, where it says)."""
    text = normalise_title(title or "")
    if not text:
        return TitleVerdict(False, "no title")
    for pattern in exclude:
        if re.search(pattern, text):
            return TitleVerdict(False, f"excluded by the portal's pattern {pattern!r}")
    matched_include = next((p for p in include if re.search(p, text)), None)
    if not matched_include and not REPORT.search(text):
        return TitleVerdict(False, "not a report title")
    decoy = DECOY.search(text)
    if decoy and not matched_include:
        return TitleVerdict(False, f"decoy ({decoy.group(0)})")
    variant = VARIANT.search(text)
    year, agency = title_year_agency(text)
    report = REPORT.search(text)
    if year is None and not matched_include and report and not text[: report.start()].strip():
        return TitleVerdict(False, "neither year nor agency: a column name, not a report")
    return TitleVerdict(True, "report title", variant.group(1) if variant else None, year, agency)


def title_year_agency(text: str) -> tuple[int | None, str | None]:
    """The year and agency a report title names: "X2023年…报告" or "2023年X…报告"."""
    text = VARIANT.sub("", normalise_title(text))
    match = _YEAR.search(text)
    if not match:
        return None, None
    year = int(match.group(1))
    before = text[: match.start()].strip(" 的-—·")
    if before:
        return year, before
    after = _REPORT_PHRASE.split(text[match.end():], maxsplit=1)[0].strip(" 的")
    return year, after or None
