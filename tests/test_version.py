"""The extractor version moves with everything that reads a document, and so does report_id."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import extract.formats
from extract import extract_document, interpret
from extract import schema as schema_module
from extract.formats import html
from extract.version import (
    NOT_READING,
    READERS,
    SHARED_MODULES,
    extractor_version,
    module_digest,
    pins,
    schema_digest,
    source_digest,
)
from warehouse.load import report_id

# Each reading module's code digest at its VERSION (a reader's digest covers its helpers, see
# extract.version.READERS). A change to the code that can change a reading needs a VERSION
# bump and a new pin here; a change that cannot (a refactor) still needs a new pin, which
# a reviewer then sees.
PINS = {
    "extract.interpret": ("2", "65314f3c7b514703"),
    "extract.labels": ("1", "71d06c6532aeb458"),
    "extract.values": ("1", "46672ffb9eaa648c"),
    "extract.metadata": ("1", "880c6423272c5c27"),
    "extract.checks": ("1", "fe5e49060c93d4df"),
    "extract.formats.html": ("3", "b1854c88d55099bf"),
    "extract.formats.text": ("3", "6173e97049a5b55b"),
    "extract.formats.docx": ("2", "22172d55c7a0d1ad"),
    "extract.formats.office": ("1", "91fe59932a6f16f5"),
    "extract.formats.pdf": ("3", "e50078e372fe0ce4"),
    "extract.formats.pdfium_grid": ("4", "526aaabe366db7dc"),
    "extract.formats.scan_pdf": ("1", "fde8814fc575db78"),
    "extract.formats.lattice": ("1", "9615e8acaeefaa91"),
}
# The template schema's data (extract/schema.py): a change to it changes every report's version
# by itself; this pin makes the change a visible, reviewed one.
SCHEMA_DIGEST = "8d91da5e19ac3455"


@pytest.mark.parametrize("module", sorted(PINS))
def test_reading_code_is_pinned_to_its_version(module: str) -> None:
    version, digest = pins()[module]
    pinned_version, pinned_digest = PINS[module]
    if version == pinned_version:
        assert digest == pinned_digest, (
            f"{module}'s code changed at VERSION {version}: bump its VERSION (a reading may "
            f"change), then pin it here as (\"<new VERSION>\", \"{digest}\")")
    else:
        pytest.fail(f"{module}: VERSION bumped to {version}; pin it here as "
                    f"(\"{version}\", \"{digest}\")")


def test_every_reading_module_is_pinned() -> None:
    assert set(pins()) == set(PINS)


def test_every_format_reader_is_listed() -> None:
    """A new reader in extract/formats (a module with NAME and VERSION) must be listed in
    READERS, so its code is pinned and its VERSION reaches its reports' version."""
    readers = set()
    for info in pkgutil.iter_modules(extract.formats.__path__):
        module = importlib.import_module(f"extract.formats.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "VERSION"):
            readers.add(module.__name__)
    assert readers == set(READERS)


def test_every_formats_module_is_a_reader_a_helper_or_named_as_reading_nothing() -> None:
    """A new module in extract/formats is placed: a reader, a helper of one (its code then
    pinned with the reader's), or one that reads no table."""
    helpers = {h for helpers in READERS.values() for h in helpers}
    placed = set(READERS) | {h for h in helpers if h.startswith("extract.formats.")} \
        | set(NOT_READING)
    found = {f"extract.formats.{info.name}" for info in pkgutil.iter_modules(
        extract.formats.__path__)}
    assert found == placed


def test_schema_data_is_pinned() -> None:
    assert schema_digest() == SCHEMA_DIGEST, (
        f"the template schema changed: pin SCHEMA_DIGEST = \"{schema_digest()}\" (every report's "
        "version changes with it)")


def test_comments_docstrings_and_layout_do_not_count_code_does() -> None:
    source = Path(importlib.import_module("extract.interpret").__file__).read_text(encoding="utf-8")
    reworded = source.replace('"""Raw table grids', '"""Printed table grids', 1).replace(
        "\n_APPEAL_WIDTH =", "\n# the width of the appeals table on one row\n_APPEAL_WIDTH  =", 1)
    assert reworded != source and source_digest(reworded) == source_digest(source)
    bumped = re.sub(r'VERSION = "\w+"', 'VERSION = "99"', source, count=1)
    assert bumped != source and source_digest(bumped) == source_digest(source)
    changed = source.replace("values[-width:]", "values[:width]", 1)
    assert changed != source and source_digest(changed) != source_digest(source)


def test_a_helper_change_changes_its_readers_digest(monkeypatch) -> None:
    """pdfium_grid reads with ruling.py: ruling's code is part of pdfium_grid's pin."""
    before = pins()["extract.formats.pdfium_grid"][1]
    real = module_digest

    def edited(module: str) -> str:
        return "0" * 16 if module == "extract.formats.ruling" else real(module)

    monkeypatch.setattr("extract.version.module_digest", edited)
    assert pins()["extract.formats.pdfium_grid"][1] != before
    assert pins()["extract.formats.docx"][1] == PINS["extract.formats.docx"][1]


@pytest.mark.parametrize("module", SHARED_MODULES)
def test_each_shared_version_moves_the_extractor_version(module: str, monkeypatch) -> None:
    before = extractor_version("1")
    monkeypatch.setattr(importlib.import_module(module), "VERSION", "999")
    after = extractor_version("1")
    assert after != before and after.startswith("1+")


def test_a_schema_change_moves_the_extractor_version(monkeypatch) -> None:
    before = extractor_version("1")
    monkeypatch.setattr(schema_module, "AMOUNT_COLUMNS", ("amount", "projects"))
    schema_digest.cache_clear()
    try:
        assert schema_digest() != SCHEMA_DIGEST and extractor_version("1") != before
    finally:
        monkeypatch.undo()
        schema_digest.cache_clear()
    assert extractor_version("1") == before


def test_an_interpreter_bump_gives_a_new_report_id(data_dir: Path, monkeypatch) -> None:
    path = data_dir / "shanghai_gov_office_2019.html"
    first = extract_document(path)
    assert first.extractor == "html-lxml"
    assert first.extractor_version == extractor_version(html.VERSION)
    assert extract_document(path).extractor_version == first.extractor_version  # stable
    monkeypatch.setattr("extract.interpret.VERSION", interpret.VERSION + ".1")
    second = extract_document(path)
    assert second.values() == first.values()  # same reading, but made by other code
    assert second.extractor_version != first.extractor_version
    assert second.extractor_version.split("+")[0] == html.VERSION
    assert report_id(second) != report_id(first)
