"""The value normaliser: printed text -> number or null (blank is never zero)."""

from __future__ import annotations

import pytest

from extract.values import is_value_token, parse_value


@pytest.mark.parametrize("raw,expected", [
    ("12", 12),
    ("１２３", 123),            # full-width digits
    ("0 ", 0),                  # "0 " with a trailing space
    ("\xa00", 0),               # NBSP before the number (weihai)
    (" 5\n", 5),
    ("3,985,758", 3985758),     # thousands separators
    ("1，234", 1234),           # full-width comma
    ("+113", 113),              # signed change
    ("-1", -1),
    ("－3", -3),                # full-width minus
    ("11522.96万元", 11522.96),
    ("7545", 7545),
    ("96171.6", 96171.6),
    ("12件", 12),
])
def test_numbers(raw: str, expected: int | float) -> None:
    value = parse_value(raw)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("raw", ["", " ", "\xa0", None, "—", "——", "-", "/", "无", "空", "不详",
                                 "见附件"])
def test_blank_dash_and_text_are_null(raw: str | None) -> None:
    assert parse_value(raw) is None


def test_amount_in_yuan_is_converted_to_wan_yuan() -> None:
    assert parse_value("251000元", amount=True) == 25.1
    assert parse_value("251000元", amount=False) == 251000  # only amount cells carry 万元
    assert parse_value("3.5万元", amount=True) == 3.5


@pytest.mark.parametrize("raw,token", [("0", True), ("无", True), ("", True), ("—", True),
                                       ("+3", True), ("规章", False), ("本年增/减", False),
                                       ("2023年", False), (None, False)])
def test_value_tokens_are_told_from_labels(raw: str | None, token: bool) -> None:
    assert is_value_token(raw) is token
