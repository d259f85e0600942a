"""Shared fixtures: the real reports in tests/data and their hand-checked answer keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def load_key(name: str) -> dict:
    return json.loads((DATA / "keys" / f"{name}.json").read_text(encoding="utf-8"))


def corpus_cases() -> list[tuple[Path, dict]]:
    """(document, answer key) for every document a key applies to."""
    cases = []
    for key_file in sorted((DATA / "keys").glob("*.json")):
        key = json.loads(key_file.read_text(encoding="utf-8"))
        documents = [{"file": key["file"], "sha256": key["sha256"]}, *key.get("also_applies_to", [])]
        for document in documents:
            cases.append((DATA / document["file"], {**key, "sha256": document["sha256"]}))
    return cases


@pytest.fixture
def data_dir() -> Path:
    return DATA


def fake_bold_pdf(source: Path, target: Path) -> Path:
    """``source`` with every glyph printed twice, 0.3 pt apart: how producers fake bold."""
    import pikepdf

    with pikepdf.open(source) as pdf:
        for page in pdf.pages:
            page.contents_coalesce()
            stream = page.Contents.read_bytes()
            page.Contents.write(stream + b"\nq 1 0 0 1 0.3 0 cm\n" + stream + b"\nQ\n")
        pdf.save(target)
    return target
