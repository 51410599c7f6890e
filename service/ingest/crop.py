"""A cell's piece of a scanned page, cut from the page as OCR read it, for a person to check a reading.

OCR provenance gives a page number and a box in points on the straightened page
(`service.ingest.scan`); the stored upload is rendered and straightened again the same way.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from service.ingest import format_of, image, scan

_MARGIN = 12  # pixels of the page around the cell, so a neighbour's edge shows where it sits


def cell_image(data: bytes, filename: str, page: int, bbox: tuple[float, float, float, float]) -> bytes:
    """The box (points) of a 1-based page as PNG bytes; ValueError when the file has no such page."""
    sheet = _straightened(data, format_of(data, filename), page)
    x0, y0, x1, y1 = (round(v * scan.WORK_DPI / 72) for v in bbox)
    height, width = sheet.shape[:2]
    crop = sheet[max(y0 - _MARGIN, 0):min(y1 + _MARGIN, height), max(x0 - _MARGIN, 0):min(x1 + _MARGIN, width)]
    if not crop.size:
        raise ValueError(f"box {bbox} outside page {page}")
    return cv2.imencode(".png", crop)[1].tobytes()


@lru_cache(maxsize=8)  # a person checks several cells of one page in a row; a page takes about a second
def _straightened(data: bytes, kind: str, page: int) -> np.ndarray:
    return scan.straighten(_page(data, kind, page))


def _page(data: bytes, kind: str, page: int) -> np.ndarray:
    if kind == ".pdf":
        import pypdfium2

        with pypdfium2.PdfDocument(data) as pdf:
            if not 1 <= page <= len(pdf):
                raise ValueError(f"no page {page} in a {len(pdf)}-page PDF")
            return pdf[page - 1].render(scale=scan.WORK_DPI / 72, grayscale=True).to_numpy()
    pages = image.pages(data)
    if not 1 <= page <= len(pages):
        raise ValueError(f"no page {page} in a {len(pages)}-page image")
    return pages[page - 1]
