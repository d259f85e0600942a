"""The OCR engine: Tesseract (through tesserocr) with Debian's ``chi_sim`` and ``eng`` models.

Tesseract was chosen over RapidOCR after measuring both on rasterized corpus pages (see
docs/ocr.md): reading a table cell by cell, it is several times faster on one core and needs no
model beyond Debian's ``tesseract-ocr-chi-sim`` package; nothing is downloaded at run time.

Cells are read in two passes: first as a number (the ``eng`` model, digits only, one line),
which is fast and what most cells hold; a cell whose ink does not look like digits, or does not
read as a number, is read again as Chinese text (``chi_sim``). Where tesserocr or the language
data is missing, ``OcrMissing`` says so and the document is skipped as ``ocr_missing`` (retried
on a later run).
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
# The white margin put around a cell's ink: Tesseract reads best with one.
MARGIN_PX = 10
# Several digits are scaled to these heights before reading (Tesseract's sweet spot first).
DIGIT_HEIGHTS_PX = (40, 56, 30)
# The confidence given to a lone "1" that only its shape reads (a finding: below 60).
LONE_ONE_CONFIDENCE = 50.0
# A number read with fewer digits than its ink has marks gets at most this confidence.
MISSED_DIGIT_CONFIDENCE = 30.0
# Several marks read as a number with less confidence than this (0-100) are read as text too.
DIGITS_CONFIDENCE = 50.0
_BRACKETS = str.maketrans({"〈": "（", "《": "（", "〉": "）", "》": "）"})
_NUMBER = re.compile(r"^-?\d[\d,]*(\.\d+)?$")


# Tesseract's OpenMP threads only contend with the other extraction workers (one document per
# process already keeps every core busy).
os.environ.setdefault("OMP_THREAD_LIMIT", "1")


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
    """The directory holding the chi_sim and eng models, or OcrMissing. TESSDATA_PREFIX, when
    set, is the only place looked at (as for Tesseract itself)."""
    prefix = os.environ.get("TESSDATA_PREFIX")
    for directory in [prefix] if prefix else _TESSDATA_DIRS:
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

    def _read_digits(self, image: np.ndarray, digit_marks: int) -> Reading | None:
        """The number the image prints, or None when it reads as none.

        Measured on small print (digits about 15 px tall): one digit alone reads best as a
        single character at its own size, several best scaled up. Tesseract sometimes drops a
        leading digit: a reading with fewer digits than the ink has marks is tried again at
        other sizes, and kept only with a confidence that makes it a finding."""
        psm = self._tesserocr.PSM
        if digit_marks == 1:
            self._digits.SetPageSegMode(psm.SINGLE_CHAR)
            try:
                for height in (None, *DIGIT_HEIGHTS_PX):
                    single = self._run(self._digits,
                                       image if height is None else _scaled(image, height))
                    if _NUMBER.match(single.text):
                        return single
                return None
            finally:
                self._digits.SetPageSegMode(psm.SINGLE_LINE)
        first: Reading | None = None
        for height in DIGIT_HEIGHTS_PX:
            reading = self._run(self._digits, _scaled(image, height))
            compact = reading.text.replace(" ", "")
            if not _NUMBER.match(compact):
                continue
            reading = Reading(compact, reading.confidence)
            if sum(ch.isdigit() for ch in compact) >= digit_marks:
                return reading
            first = first or reading
        if first is None:
            return None
        return Reading(first.text, min(first.confidence, MISSED_DIGIT_CONFIDENCE))

    def read(self, image: np.ndarray, digit_marks: int) -> Reading:
        """The text of one line of a cell (grey, dark ink on white, a white margin).

        ``digit_marks`` is the number of marks when the ink looks like one line of digits (see
        ``scan.numeric_shape``), else 0; only then is the digits-only reading tried first. It
        stands when it is confident, or when the Chinese reading finds no text there either."""
        number = self._read_digits(image, digit_marks) if digit_marks else None
        if number is not None and (digit_marks == 1 or number.confidence >= DIGITS_CONFIDENCE):
            return number
        text = self._run(self._text, image)
        if number is not None and not _has_cjk(text.text):
            return number
        if digit_marks == 1 and not text.text and _lone_bar(image):
            # Tesseract reads a lone serif "1" as "|" (or nothing); of the digits, only a 1 is
            # one full-height narrow mark. Kept as a finding: its confidence is low.
            return Reading("1", LONE_ONE_CONFIDENCE)
        return Reading(_join_cjk(text.text), text.confidence)


def _lone_bar(image: np.ndarray) -> bool:
    """The ink (the image less its margin) is one narrow upright mark: at most 0.45 as wide as
    tall."""
    core = image[MARGIN_PX:-MARGIN_PX, MARGIN_PX:-MARGIN_PX]
    return core.size > 0 and core.shape[1] <= 0.45 * core.shape[0]


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _scaled(image: np.ndarray, ink_height: int) -> np.ndarray:
    """The image resized so that its ink (the image less its margin) is ``ink_height`` tall."""
    import cv2

    core = image[MARGIN_PX:-MARGIN_PX, MARGIN_PX:-MARGIN_PX]
    if core.size == 0:
        return image
    factor = ink_height / core.shape[0]
    core = cv2.resize(core, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    return cv2.copyMakeBorder(core, 2 * MARGIN_PX, 2 * MARGIN_PX, 2 * MARGIN_PX, 2 * MARGIN_PX,
                              cv2.BORDER_CONSTANT, value=255)


def _join_cjk(text: str) -> str:
    """Without the spaces chi_sim puts between CJK characters (line breaks kept), and with
    round brackets where chi_sim reads a blurred one as an angle bracket (the report format
    prints no angle brackets, and the label matcher drops long notes in round ones)."""
    text = text.translate(_BRACKETS)
    return re.sub(r"(?<=[^\x00-\x7f]) +(?=[^\x00-\x7f])", "", text).strip()
