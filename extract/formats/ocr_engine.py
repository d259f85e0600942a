"""The OCR engine: Tesseract (through tesserocr) with Debian's ``chi_sim`` and ``eng`` models.

Tesseract was chosen over RapidOCR after measuring both on rasterized corpus pages (see
docs/ocr.md): reading a table cell by cell, it is several times faster on one core and needs no
model beyond Debian's ``tesseract-ocr-chi-sim`` package; nothing is downloaded at run time.

Cells are read in two passes: first as a number (the ``eng`` model, digits only, one line),
which is fast and what most cells hold; a cell whose ink does not read confidently as a number
is read again as Chinese text (``chi_sim``). Where tesserocr or the language data is missing,
``OcrMissing`` says so and the document is skipped as ``ocr_missing`` (retried on a later run).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from extract.errors import ExtractionError

NAME = "tesseract"
# Where Debian's tesseract-ocr-* packages put the models; TESSDATA_PREFIX overrides.
_TESSDATA_DIRS = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                  "/usr/share/tessdata")
LANGUAGES = ("chi_sim", "eng")
# A number read with less confidence than this (0-100) is read again as text.
NUMBER_CONFIDENCE = 75.0
_BRACKETS = str.maketrans({"〈": "（", "《": "（", "〉": "）", "》": "）"})
_NUMBER = re.compile(r"^-?\d[\d,]*(\.\d+)?$")


class OcrMissing(ExtractionError):
    """The OCR engine or its language data is not installed."""

    kind = "ocr_missing"

    def __init__(self, detail: str) -> None:
        super().__init__(self.kind, detail)


@dataclass(frozen=True)
class Reading:
    """A cell's text as OCR read it and the engine's confidence in it (0-100)."""

    text: str
    confidence: float


def tessdata_dir() -> Path:
    """The directory holding the chi_sim and eng models, or OcrMissing."""
    candidates = [os.environ["TESSDATA_PREFIX"]] if os.environ.get("TESSDATA_PREFIX") else []
    for directory in (*candidates, *_TESSDATA_DIRS):
        path = Path(directory)
        if all((path / f"{lang}.traineddata").is_file() for lang in LANGUAGES):
            return path
    raise OcrMissing("Tesseract language data (chi_sim, eng) not found; "
                     "apt-get install tesseract-ocr-chi-sim tesseract-ocr-eng")


class CellReader:
    """Reads cell images; holds one Tesseract instance per model (they are slow to start)."""

    def __init__(self) -> None:
        try:
            import tesserocr
        except ImportError as exc:
            raise OcrMissing(f"tesserocr cannot be imported ({exc})") from exc
        self._tesserocr = tesserocr
        path = str(tessdata_dir()) + "/"
        psm = tesserocr.PSM
        try:
            self._digits = tesserocr.PyTessBaseAPI(path=path, lang="eng", psm=psm.SINGLE_LINE)
            self._digits.SetVariable("tessedit_char_whitelist", "0123456789.,-")
            self._text = tesserocr.PyTessBaseAPI(path=path, lang="chi_sim", psm=psm.SINGLE_BLOCK)
        except RuntimeError as exc:
            raise OcrMissing(f"Tesseract cannot start ({exc})") from exc

    def close(self) -> None:
        self._digits.End()
        self._text.End()

    def __enter__(self) -> CellReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _run(self, api, image: np.ndarray) -> Reading:
        from PIL import Image

        api.SetImage(Image.fromarray(image))
        text = api.GetUTF8Text().strip()
        confidences = [c for c in api.AllWordConfidences() if c >= 0]
        return Reading(text, float(min(confidences)) if confidences else 0.0)

    def read_page(self, image: np.ndarray) -> str:
        """The text of a whole page image, for its title (agency and year)."""
        from PIL import Image

        self._text.SetPageSegMode(self._tesserocr.PSM.AUTO)
        try:
            self._text.SetImage(Image.fromarray(image))
            return _join_cjk(self._text.GetUTF8Text())
        finally:
            self._text.SetPageSegMode(self._tesserocr.PSM.SINGLE_BLOCK)

    def read(self, image: np.ndarray, numeric_shape: bool) -> Reading:
        """The text of one cell image (grey, dark ink on white, borders removed).

        ``numeric_shape`` says the ink looks like one line of digits (see ``scan.py``); only
        then is the digits-only reading tried first."""
        if numeric_shape:
            number = self._run(self._digits, image)
            compact = number.text.replace(" ", "")
            if _NUMBER.match(compact) and number.confidence >= NUMBER_CONFIDENCE:
                return Reading(compact, number.confidence)
        text = self._run(self._text, image)
        return Reading(_join_cjk(text.text), text.confidence)


def _join_cjk(text: str) -> str:
    """Without the spaces chi_sim puts between CJK characters (line breaks kept), and with
    round brackets where chi_sim reads a blurred one as an angle bracket (the report format
    prints no angle brackets, and the label matcher drops long notes in round ones)."""
    text = text.translate(_BRACKETS)
    return re.sub(r"(?<=[^\x00-\x7f]) +(?=[^\x00-\x7f])", "", text).strip()
