"""Raw grids -> cells: tables found by their labels, templates decided from the labels found."""

from __future__ import annotations

from extract.interpret import interpret
from extract.model import RawTable

REQUEST_HEADER = [
    ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", None, None,
     "申请人情况", None, None, None, None, None, None, None],
    [None, None, None, "自然人", "法人或其他组织", None, None, None, None, None, "总计"],
    [None, None, None, None, "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "小计",
     None],
]


def row(label: str, *values: str, group: str | None = None) -> list[str | None]:
    return [group, label, None, *values]


def test_org_subtotal_column_is_read_where_printed() -> None:
    grid = REQUEST_HEADER + [row("一、本年新收政府信息公开申请数量",
                                 "3", "1", "0", "0", "0", "1", "2", "5")]
    reading = interpret([RawTable(grid, page=1)])
    assert reading.extra_columns == {"requests": ("org_subtotal",)}
    assert reading.cells["requests/new/org_subtotal"].value == 2
    assert reading.cells["requests/new/total"].value == 5


def test_template_decided_per_table_from_labels() -> None:
    """A 2021-layout table 三 ((六) split in three) beside a 2019 table 二 (hybrid, as in 洪泽)."""
    grid = [
        ["信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"],
        ["规章", "0", "0", "3"],
        ["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"],
        ["行政许可", "4", "+1", "20"],
    ]
    requests = REQUEST_HEADER[:2] + [
        row("1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请", *"00000000",
            group="（六）其他处理"),
        row("3.其他", *"00000000"),
    ]
    reading = interpret([RawTable(grid, page=1), RawTable(requests, page=2)])
    assert reading.templates == {"disclosure": "2019", "requests": "2021"}
    assert reading.cells["disclosure/licensing/change"].value == 1


def test_appeals_in_row_layout() -> None:
    grid = [["", "结果维持", "结果纠正", "其他结果", "尚未审结", "总计"],
            ["行政复议", "1", "0", "0", "2", "3"],
            ["未经复议直接起诉", "0", "0", "0", "0", "0"]]
    cells = interpret([RawTable(grid)]).cells
    assert cells["appeals/reconsideration/total"].value == 3
    assert cells["appeals/litigation_direct/upheld"].value == 0


def test_table_continued_on_next_page_without_header() -> None:
    first = REQUEST_HEADER[:2] + [row("一、本年新收政府信息公开申请数量", *"1000001")]
    second = [["", "", "3.补正后申请内容仍不明确", *"0000000"]]  # label area left blank
    reading = interpret([RawTable(first, page=3), RawTable(second, page=4)])
    cell = reading.cells["requests/unable_unclear/total"]
    assert cell.page == 4 and cell.value == 0


def test_row_with_too_few_values_is_noted_and_incomplete() -> None:
    reading = interpret([RawTable(REQUEST_HEADER[:2]
                                  + [row("二、上年结转政府信息公开申请数量", "1", "2")])])
    assert "requests/carried_over/total" not in reading.cells
    assert any("2 values for 7 columns" in note for note in (a.detail for a in reading.anomalies))


def test_unknown_label_with_numbers_is_noted() -> None:
    reading = interpret([RawTable([["信息内容", "本年处理决定数量"], ["行政征收", "12"]])])
    assert not reading.cells
    assert any("行政征收" in note for note in (a.detail for a in reading.anomalies))


def test_row_cut_by_a_page_break_is_read_once() -> None:
    """A row may break across pages: its label's start on one page (values there or on the
    next), the rest of the label on the next page, under blank value cells or over them."""
    first = REQUEST_HEADER[:2] + [
        row("一、本年新收政府信息公开申请数量", *"1000001"),
        row("2.没有现成信息需", *"3000003", group="（四）无法提供"),
    ]
    second = [["", "", "要另行制作", *[""] * 7],
              row("3.补正后申请内容仍不明确", *"0000000"),
              row("5.要求行政机关确认或", *[""] * 7)]
    third = [["", "", "重新出具已获取信息", *"2000002"]]
    reading = interpret([RawTable(first, page=3), RawTable(second, page=4),
                         RawTable(third, page=5)])
    assert not reading.anomalies
    cell = reading.cells["requests/unable_need_create/natural_person"]
    assert cell.value == 3 and cell.page == 3 and cell.row_label == "2.没有现成信息需要另行制作"
    assert reading.cells["requests/rejected_confirm/total"].value == 2
    assert reading.cells["requests/unable_unclear/total"].value == 0


def test_rows_of_tables_on_one_page_are_not_joined() -> None:
    """Only a page break cuts a row: two tables on one page stay apart."""
    first = REQUEST_HEADER[:2] + [row("2.没有现成信息需", *"3000003")]
    second = [["", "", "要另行制作", *"0000000"]]
    reading = interpret([RawTable(first, page=3), RawTable(second, page=3)])
    assert "requests/unable_need_create/total" not in reading.cells
