"""Agency and year from the title; the 统计期限 sentence as the second source for the year."""

from __future__ import annotations

import pytest

from extract.metadata import read_metadata


@pytest.mark.parametrize("text,agency,year", [
    ("洪泽区人民政府\n2023 年政府信息公开工作年度报告\n本报告…", "洪泽区人民政府", 2023),
    ("2019年上海市人民政府办公厅政府信息公开工作年度报告", "上海市人民政府办公厅", 2019),
    ("某某市交通运输局2022年度政府信息公开工作年度报告", "某某市交通运输局", 2022),
    ("北京市某某区人民政府２０２１年政府信息公开年度报告", "北京市某某区人民政府", 2021),
])
def test_title_gives_agency_and_year(text: str, agency: str, year: int) -> None:
    meta = read_metadata(text)
    assert (meta.agency, meta.year) == (agency, year)
    assert meta.title is not None and str(year) in meta.title.replace(" ", "")


def test_period_sentence_gives_the_year_when_the_title_does_not() -> None:
    text = "年度报告\n本报告中所列数据统计期限自 2020 年 1 月 1 日起至 2020 年 12 月 31 日止。"
    meta = read_metadata(text)
    assert (meta.agency, meta.year, meta.title, meta.period_year) == (None, 2020, None, 2020)


def test_both_sources_are_kept_when_they_disagree() -> None:
    meta = read_metadata("某某县人民政府2021年政府信息公开工作年度报告\n"
                         "统计期限自2020年1月1日至2020年12月31日")
    assert (meta.year, meta.period_year) == (2021, 2020)
