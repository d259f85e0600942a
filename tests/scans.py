"""Scanned renderings of the corpus, made at test time: every page rendered by PDFium, turned a
little, blurred, JPEG-compressed and written back as an image-only PDF (no text layer)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pypdfium2
from PIL import Image, ImageFilter

SCAN_DPI = 200
_FIXED_DATE = time.strptime("2025-01-01", "%Y-%m-%d")


def degrade(page: Image.Image, angle: float, blur: float, jpeg_quality: int) -> Image.Image:
    """A page as a scanner would give it: turned by ``angle`` degrees, blurred, JPEG."""
    turned = page.convert("L").rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=255)
    blurred = turned.filter(ImageFilter.GaussianBlur(blur)) if blur else turned
    buffer = io.BytesIO()
    blurred.save(buffer, "JPEG", quality=jpeg_quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def scanned_pdf(source: Path, target: Path, angle: float = 0.6, blur: float = 0.8,
                jpeg_quality: int = 70, dpi: int = SCAN_DPI) -> Path:
    """``source`` as an image-only PDF: each page a degraded rendering (see ``degrade``)."""
    document = pypdfium2.PdfDocument(str(source))
    try:
        pages = [degrade(document[n].render(scale=dpi / 72).to_pil(), angle if n % 2 == 0
                         else -angle, blur, jpeg_quality) for n in range(len(document))]
    finally:
        document.close()
    # a fixed date: the same scan has the same bytes (the test portal serves it by sha256)
    pages[0].save(target, "PDF", resolution=dpi, save_all=True, append_images=pages[1:],
                  creationDate=_FIXED_DATE, modDate=_FIXED_DATE)
    return target


def scanned_image(source: Path, page: int, target: Path, angle: float = 0.4, blur: float = 0.6,
                  dpi: int = 150) -> Path:
    """One page of ``source`` as a degraded PNG (a 图片版 report image)."""
    document = pypdfium2.PdfDocument(str(source))
    try:
        image = degrade(document[page - 1].render(scale=dpi / 72).to_pil(), angle, blur, 85)
    finally:
        document.close()
    image.save(target, "PNG")
    return target
