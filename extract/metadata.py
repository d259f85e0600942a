"""Agency and report year: from the title, with the 统计期限 sentence as a second source for the
year."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Bump when a change to the agency and year reader can change a reading (see extract/version.py).
VERSION = "1"

_TITLE_WORDS = r"政府信息公开(?:工作)?年度报告"
# "淮安市人民政府 2024 年政府信息公开工作年度报告" (agency first, possibly on the line above)
_AGENCY_FIRST = re.compile(
    rf"(?P<agency>[^\s\d《》()（）,，。:：;；]{{2,40}}?)\s*(?P<year>(?:19|20)\d{{2}})\s*年度?\s*{_TITLE_WORDS}")
# "2019年上海市人民政府办公厅政府信息公开工作年度报告"
_YEAR_FIRST = re.compile(
    rf"(?P<year>(?:19|20)\d{{2}})\s*年度?\s*(?P<agency>[^\s\d《》()（）,，。:：;；]{{2,40}}?)\s*{_TITLE_WORDS}")
# "统计期限自 2023 年 1 月 1 日起至 2023 年 12 月 31 日止" / "统计时限自…" /
# "从2019年1月1日到12月31日"
_PERIOD = re.compile(r"统计(?:期限|时限|时间|期间|区间)[^。]{0,12}?"
                     r"(?P<year>(?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日")
# Words that belong to a heading, not to the agency's name.
_NOT_AGENCY = re.compile(r"^(?:关于|发布|公布|印发)")


@dataclass
class Metadata:
    agency: str | None
    year: int | None
    title: str | None
    period_year: int | None = None  # the year of the 统计期限 sentence, the second source


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\u3000", " ")


def read_metadata(text: str, head_chars: int = 600) -> Metadata:
    """Agency and year from the document's title (its first lines) and its 统计期限 sentence."""
    head = _clean(text[:head_chars])
    flat_head = re.sub(r"\s+", " ", head)
    agency = year = title = None
    for pattern in (_YEAR_FIRST, _AGENCY_FIRST):
        match = pattern.search(flat_head)
        if match and not _NOT_AGENCY.match(match.group("agency")):
            agency = match.group("agency").strip()
            year = int(match.group("year"))
            title = match.group(0).strip()
            break
    period = _PERIOD.search(re.sub(r"\s+", "", _clean(text[:20000])))
    period_year = int(period.group("year")) if period else None
    return Metadata(agency=agency, year=year or period_year, title=title,
                    period_year=period_year)
