"""Label variants real reports print map to the schema's keys; one normaliser, one threshold."""

from __future__ import annotations

import pytest

from extract.labels import best_match, normalise_label
from extract.schema import APPEALS, DISCLOSURE, REQUESTS


@pytest.mark.parametrize("printed,key", [
    ("1.属于国家秘密", "denied_secret"),
    ("1、属于国家秘密", "denied_secret"),                     # "1、" for "1."
    ("１．属于国家秘密", "denied_secret"),                    # full-width digit and dot
    ("（一）予以公开", "granted"),
    ("(一)予以公开", "granted"),                              # half-width brackets
    ("（二）部分公开（区分处理的，只计这一情 形，不\n计其他情形）", "partial"),  # note, spaces
    ("（二）部分公开", "partial"),
    ("2.其他法律行政止公开", "denied_law"),                   # typo seen in 洪泽 2023/2024
    ("4.无正当理由大量反复 申请", "rejected_excessive"),      # space inside a label
    ("5.要求行政机关确认或重 新出具\n已获取信息", "rejected_confirm"),
    ("3、其他", "other_misc"),                                # 淮安 2024
    ("（六）其他处理", "other"),
    ("三（三）1.属于国家秘密", "denied_secret"),              # group numbering in the label
    ("一、本年新收政府信息公開申請數量", "new"),              # traditional characters
    ("四、结转下年度继续办理", "carried_forward"),
    ("（七）总 计", "total"),
    ("3.危及\"三安全一稳定\"", "denied_security"),
])
def test_request_row_variants(printed: str, key: str) -> None:
    match = best_match(printed, REQUESTS.rows)
    assert match is not None and match.key == key


@pytest.mark.parametrize("printed,key", [("規範性文件", "normative"),
                                         ("行 政 许 可", "licensing"),
                                         ("行政事业性收费", "fees"),
                                         ("政府集中采购", "procurement")])
def test_disclosure_row_variants(printed: str, key: str) -> None:
    match = best_match(printed, DISCLOSURE.rows)
    assert match is not None and match.key == key


@pytest.mark.parametrize("printed", ["第二十条第（一）项", "信息内容", "申请人情况",
                                     "法人或其他组织", "本年度办理结果", "某某区人民政府"])
def test_headings_match_no_row(printed: str) -> None:
    assert best_match(printed, REQUESTS.rows) is None


def test_appeal_rows_in_row_layout() -> None:
    assert best_match("行政诉讼 未经复议直接起诉", APPEALS.rows).key == "litigation_direct"


def test_normaliser() -> None:
    assert normalise_label("1、 属于 国家秘密") == "1.属于国家秘密"
    assert normalise_label("（二）部分公开（区分处理的，只计这一情形）") == "(二)部分公开"
    assert normalise_label("第二十条 第（一）项") == "第二十条第(一)项"
