"""Selectors that say how many matches they expect (after spatula): a changed layout fails loudly
at the line that broke, instead of yielding an empty crawl."""

from __future__ import annotations

from parsel import Selector, SelectorList


class LayoutChanged(Exception):
    """A page no longer has the structure its adapter expects."""


def select(node: Selector, css: str, *, at_least: int = 1, at_most: int | None = None,
           where: str = "") -> SelectorList:
    found = node.css(css)
    if len(found) < at_least or (at_most is not None and len(found) > at_most):
        expected = f">= {at_least}" if at_most is None else f"{at_least}..{at_most}"
        raise LayoutChanged(f"{where or 'page'}: {css!r} matched {len(found)}, expected {expected}")
    return found

