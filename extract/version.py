"""The extractor version: one string that moves whenever the reading of a document could change.

A report's reading is made by its format reader (``extract/formats/<reader>.py`` and the helper
modules it reads with) and by the modules every reader shares: the interpreter, the label and
value normalisers, the metadata reader, the checks, and the template schema. Each of those
modules carries a ``VERSION`` constant; the schema is data, so its data is hashed instead.
``extractor_version`` is the reader's VERSION joined to a short digest of the shared versions and
the schema hash, e.g. ``"1+5c0e2a9b"``. A report's id hashes (sha256, extractor, version), so a
bump of any of these gives every document it reads a new report id, and ``nianbao rebuild``
loads new readings for exactly those documents (the others keep their report ids and add
nothing).

Which reader's reading is kept for a PDF (the cascade in ``document.py``) is not part of the
version: a different choice gives a different ``extractor`` name, hence a different report id.

``tests/test_version.py`` pins a digest of each module's code (its syntax tree, so comments,
docstrings and formatting do not count) to its VERSION, and pins the schema hash: code or
schema that changes without a bump fails the suite, and the failure names the pin to write
after the bump.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib
import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

# Modules every reading goes through (each has a VERSION constant).
SHARED_MODULES = ("extract.interpret", "extract.labels", "extract.values", "extract.metadata",
                  "extract.checks")

# Each format reader (a module with NAME and VERSION) -> the helper modules its reading also
# depends on; a helper's code is pinned under the reader's VERSION, so changing a helper means
# bumping every reader listed with it.
READERS: dict[str, tuple[str, ...]] = {
    "extract.formats.html": ("extract.formats.grid", "extract.formats.scan",
                             "extract.formats.ocr_engine",  # 图片版 report images
                             "crawlers.encoding"),  # which charset labels are GB text
    "extract.formats.text": ("extract.formats.html", "crawlers.encoding"),  # its decode()
    "extract.formats.docx": (),
    "extract.formats.office": ("extract.formats.docx",),  # reads the converted DOCX
    "extract.formats.pdf": (),
    "extract.formats.pdfium_grid": ("extract.formats.pdf", "extract.formats.ruling",
                                    "extract.formats.borderless",
                                    "extract.formats.borderless_columns",
                                    "extract.formats.borderless_pages",
                                    "extract.formats.borderless_refit"),
    "extract.formats.scan_pdf": ("extract.formats.scan", "extract.formats.ocr_engine",
                                 "extract.formats.ruling"),
    "extract.formats.lattice": ("extract.formats.ruling",),  # its union-find
}

# Modules of extract/formats that read no table: which reader runs is in the report's
# ``extractor`` name, which report_id hashes anyway.
NOT_READING = ("extract.formats.sniff",)


def module_version(module: str) -> str:
    """The VERSION constant of ``module`` as it is now (read at call time, never cached)."""
    return str(importlib.import_module(module).VERSION)


def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        return body[1:]
    return body


def _is_version_assignment(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == "VERSION" for t in node.targets)


def _canonical_tree(node: Any) -> Any:
    """The syntax tree as plain data: node types and fields only (no line numbers), None and empty
    fields left out, so the digest does not depend on ``ast.dump``'s format across Pythons."""
    if isinstance(node, ast.AST):
        fields = {}
        for name in node._fields:
            value = getattr(node, name, None)
            if name == "body" and isinstance(value, list):
                value = _strip_docstring(value)
            if isinstance(node, ast.Module) and name == "body":
                value = [s for s in value if not _is_version_assignment(s)]
            if value is None or value == []:
                continue
            fields[name] = _canonical_tree(value)
        return [type(node).__name__, fields]
    if isinstance(node, list):
        return [_canonical_tree(item) for item in node]
    if node is ... or isinstance(node, (bytes, complex)):
        return repr(node)
    return node


def source_digest(source: str) -> str:
    """A digest of Python code: its syntax tree without docstrings and without the VERSION
    assignment (comments and formatting never reach the tree)."""
    text = json.dumps(_canonical_tree(ast.parse(source)), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def module_digest(module: str) -> str:
    """``source_digest`` of a module's file."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(module)
    return source_digest(Path(spec.origin).read_text(encoding="utf-8"))


def reader_digest(reader: str) -> str:
    """A digest of a reader's code together with its helpers' (see ``READERS``)."""
    parts = [module_digest(m) for m in (reader, *READERS[reader])]
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    """Schema data as JSON-ready values with a fixed order (sets sorted)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@lru_cache(maxsize=1)
def schema_digest() -> str:
    """A digest of the template schema's data: every upper-case constant of ``extract.schema``."""
    schema = importlib.import_module("extract.schema")
    data = {name: _plain(getattr(schema, name)) for name in sorted(vars(schema))
            if name.isupper() and not callable(getattr(schema, name))}
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def shared_digest() -> str:
    """A short digest of the shared modules' VERSIONs and the schema's digest."""
    parts = [f"{m}={module_version(m)}" for m in SHARED_MODULES]
    parts.append(f"schema={schema_digest()}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]


def extractor_version(reader_version: str) -> str:
    """The version a report read by a reader of ``reader_version`` carries, e.g.
    ``"1+5c0e2a9b"``."""
    return f"{reader_version}+{shared_digest()}"


def pins() -> dict[str, tuple[str, str]]:
    """Every pinned module -> (its VERSION, its code digest), as ``tests/test_version.py`` pins
    them."""
    found = {m: (module_version(m), module_digest(m)) for m in SHARED_MODULES}
    found.update({r: (module_version(r), reader_digest(r)) for r in READERS})
    return found
