"""The normaliser for printed cell values: text as printed -> number or null.

Blank is not zero: a blank cell, a dash, "无" or "/" give null (the raw text is kept by the caller).
A cell that prints something else ("5a4", "52O", "不详") is also null, but it is not blank:
``is_unparseable`` tells it apart so the checks can report it (``unparseable_value``).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

# Bump when a change to the value normaliser can change a reading (see extract/version.py).
VERSION = "1"

Number = int | float

# Printed tokens that mean "nothing here" rather than a number.
NULL_TOKENS = frozenset({"", "无", "-", "—", "——", "―", "–", "─", "/", "\\", "空", "null", "N/A",
                         "n/a"})
_DASHES = str.maketrans({"−": "-", "－": "-", "﹣": "-"})
_NUMBER = re.compile(r"^([+-]?)(\d+(?:,\d{3})*|\d+)(\.\d+)?(万元|元|件|个|项|次|条)?$")
_YUAN_PER_WAN = Decimal(10000)
# A number with a stray letter or mark: Latin letters, digits and separators only, at least half
# of it digits ("5a4", "52O", "1O0", "12.5.3"); OCR and retyping slips, not labels.
_MISPRINTED = re.compile(r"^[+-]?[0-9A-Za-z.,'`]+$")


def _clean(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw).translate(_DASHES)
    text = "".join(text.split())  # spaces, NBSP, line breaks anywhere in the cell
    return text.replace("，", ",")


def _misprinted(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    return bool(_MISPRINTED.match(text)) and digits > 0 and 2 * digits >= len(text)


def is_value_token(raw: str | None) -> bool:
    """Whether a printed cell reads as a value, not as a label: a number, a null marker, or a
    misprinted number (which a row's label never is)."""
    if raw is None:
        return False
    text = _clean(raw)
    return text in NULL_TOKENS or bool(_NUMBER.match(text)) or _misprinted(text)


def is_unparseable(raw: str | None) -> bool:
    """Whether a printed cell is neither a number nor a null marker (its value is null, but
    something was printed there): "5a4", "52O", "不详"."""
    if raw is None:
        return False
    text = _clean(raw)
    return text not in NULL_TOKENS and not _NUMBER.match(text)


def parse_value(raw: str | None, amount: bool = False) -> Number | None:
    """The number a cell prints, or None for blank / dash / 无 / unreadable text.

    ``amount`` cells are in 万元: a value printed with the unit 元 is converted.
    Integers come back as int; decimals as float.
    """
    if raw is None:
        return None
    text = _clean(raw)
    match = _NUMBER.match(text)
    if text in NULL_TOKENS or not match:
        return None
    sign, whole, frac, unit = match.groups()
    try:
        number = Decimal(f"{sign}{whole.replace(',', '')}{frac or ''}")
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return None
    if amount and unit == "元":
        number = number / _YUAN_PER_WAN
    if number == number.to_integral_value():
        return int(number)
    return float(number)
