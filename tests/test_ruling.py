"""The grid geometry of the fast PDF path: ruling lines and characters -> RawTable rows."""

from __future__ import annotations

from extract.formats.ruling import Glyph, Segment, cell_text, page_tables


def glyph(text: str, left: float, bottom: float, width: float = 8.0, height: float = 8.0
          ) -> Glyph:
    return Glyph(text, left + width / 2, bottom + height / 2, left, left + width, bottom,
                 bottom + height)


def word(text: str, left: float, bottom: float) -> list[Glyph]:
    return [glyph(c, left + 8 * n, bottom) for n, c in enumerate(text)]


def frame() -> tuple[list[Segment], list[Segment]]:
    """Two rows, three columns (x 0/100/150/200, y 100/80/60); in the top row the vertical
    line at x=150 is missing: its two right cells are one merged cell."""
    hs = [Segment(100, 0, 200), Segment(80, 0, 200), Segment(60, 0, 200)]
    vs = [Segment(0, 60, 100), Segment(100, 60, 100), Segment(150, 60, 80), Segment(200, 60, 100)]
    return hs, vs


def test_merged_cell_is_read_once_with_none_where_it_covers() -> None:
    hs, vs = frame()
    glyphs = [*word("标签", 10, 85), *word("合并", 130, 85), *word("行", 10, 65),
              glyph("1", 120, 65), glyph("2", 170, 65)]
    assert page_tables(hs, vs, glyphs) == [[["标签", "合并", None], ["行", "1", "2"]]]


def test_number_touching_the_border_stays_in_its_cell() -> None:
    """A glyph drawn across the ruling line belongs to the cell holding its centre."""
    hs, vs = frame()
    glyphs = [glyph("7", 146, 65, width=6), glyph("8", 149, 65, width=6)]
    assert page_tables(hs, vs, glyphs)[0][1] == ["", "7", "8"]


def test_blank_cells_are_empty_strings_and_frameless_edges_close_the_grid() -> None:
    """Without the outer verticals, the horizontals' extent still closes the table."""
    hs = [Segment(100, 0, 200), Segment(80, 0, 200), Segment(60, 0, 200)]
    vs = [Segment(100, 60, 100), Segment(150, 60, 100)]
    rows = page_tables(hs, vs, word("左", 10, 65))
    assert rows == [[["", "", ""], ["左", "", ""]]]


def test_page_frame_does_not_swallow_the_table_inside_it() -> None:
    hs, vs = frame()
    outer_h = [Segment(500, -50, 300), Segment(0, -50, 300)]
    outer_v = [Segment(-50, 0, 500), Segment(300, 0, 500)]
    tables = page_tables(hs + outer_h, vs + outer_v, [glyph("1", 120, 65)])
    assert [t for t in tables if len(t) == 2] == [[["", "", None], ["", "1", ""]]]


def test_cell_text_lines_punctuation_and_fake_bold() -> None:
    decimal = [glyph("7", 0, 10, 5, 7), glyph(".", 5, 10, 1.5, 1.2), glyph("5", 7, 10, 5, 7)]
    assert cell_text(decimal) == "7.5"
    two_lines = word("本年新", 0, 20) + word("制作", 0, 8)
    assert cell_text(two_lines) == "本年新\n制作"
    bold = word("规章", 0, 0) + [glyph("规", 0.3, 0), glyph("章", 8.3, 0)]
    assert cell_text(bold) == "规章"
    quote = [glyph("“", 0, 14, 4, 3), *word("三安全", 4, 8)]
    assert cell_text(quote) == "“三安全"
