"""One normaliser for printed labels, and the matcher that maps a printed label to a schema key.

Every label variant real reports print (spaces inside words, line breaks, "1、" for "1.",
full-width brackets and digits, traditional characters, long explanatory notes in brackets,
small typos) is absorbed here or listed as a variant in ``schema.py``; parsers never special-case
a label.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

import zhconv

from extract.schema import Column, Row

# Bump when a change to the label matcher can change a reading (see extract/version.py).
VERSION = "1"

# A label must be at least this similar to a schema label (after normalising) to match it.
MATCH_THRESHOLD = 0.8

_SPACE = re.compile(r"\s+")
_NUMBERING_SEP = re.compile(r"(?<![\d.])(\d{1,2})[、.,]")  # "1、" / "1." / "1," -> "1."
_CN_NUMBERING_SEP = re.compile(r"^([一二三四五六七八九十]{1,3})[.,、]")
# A bracketed note of four characters or more ("（区分处理的，只计这一情形…）"); "（一）" stays.
_LONG_NOTE = re.compile(r"\([^()]{4,}\)")
_LEADING_NUMBERING = re.compile(
    r"^(?:[一二三四五六七八九十]{1,3}、)?(?:\([一二三四五六七八九十]{1,3}\))?(?:\d{1,2}\.)?")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "「": '"', "」": '"'})


@lru_cache(maxsize=8192)
def normalise_label(text: str) -> str:
    """The comparable form of a printed label."""
    text = zhconv.convert(unicodedata.normalize("NFKC", text), "zh-cn")
    text = _SPACE.sub("", text).translate(_QUOTES)
    text = _CN_NUMBERING_SEP.sub(r"\1、", text)
    text = _NUMBERING_SEP.sub(r"\1.", text)
    return _LONG_NOTE.sub("", text)


def label_core(normalised: str) -> str:
    """A normalised label without its leading numbering ("三、", "(三)", "1.")."""
    return _LEADING_NUMBERING.sub("", normalised)


def similarity(printed: str, label: str) -> float:
    """How well a normalised printed label matches a normalised schema label (0..1)."""
    if printed == label:
        return 1.0
    full = SequenceMatcher(None, printed, label).ratio()
    core_p, core_l = label_core(printed), label_core(label)
    if not core_p or not core_l:
        return full
    if core_p == core_l:
        return max(full, 0.97)
    return max(full, 0.95 * SequenceMatcher(None, core_p, core_l).ratio())


@dataclass(frozen=True)
class LabelMatch:
    key: str
    score: float
    label: str  # the schema label it matched


def best_match(printed: str, candidates: tuple[Row, ...] | tuple[Column, ...]
               ) -> LabelMatch | None:
    """The schema entry whose label (or a variant) is most similar, if above the threshold."""
    norm = normalise_label(printed)
    if not norm:
        return None
    exact = exact_entry(printed, candidates)
    if exact is not None:  # 1.0, which no fuzzy match reaches: the fuzzy scores are not needed
        return exact
    best: LabelMatch | None = None
    for entry in candidates:
        for label in entry.labels:
            score = similarity(norm, normalise_label(label))
            if best is None or score > best.score:
                best = LabelMatch(entry.key, score, label)
    if best is None or best.score < MATCH_THRESHOLD:
        return None
    return best


def exact_entry(printed: str, candidates: tuple[Row, ...] | tuple[Column, ...]
                ) -> LabelMatch | None:
    """The first entry whose normalised label (or variant) equals the printed one, scored 1.0."""
    norm = normalise_label(printed)
    for entry in candidates:
        for label in entry.labels:
            if normalise_label(label) == norm:
                return LabelMatch(entry.key, 1.0, label)
    return None

