"""A cell's piece of a scanned page, cut from the page as OCR read it, for a person to check a reading.

OCR provenance gives a page number and a box in points on the straightened page
(`service.ingest.scan`); the stored upload is rendered and straightened again the same way.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from service.ingest import format_of, image, scan

_MARGIN = (60, 24)  # pixels of the page around the cell (across, down): its neighbours show where it sits
_MARK = (180, 95, 26)  # BGR of the page's accent blue: the cell's outline


def cell_image(data: bytes, filename: str, page: int, bbox: tuple[float, float, float, float]) -> bytes:
    """The box (points) of a 1-based page with some of the page around it, the box outlined, as PNG
    bytes; ValueError when the file has no such page or the box lies outside it."""
    sheet = _straightened(data, format_of(data, filename), page)
    x0, y0, x1, y1 = (round(v * scan.WORK_DPI / 72) for v in bbox)
    height, width = sheet.shape[:2]
    left, top = max(x0 - _MARGIN[0], 0), max(y0 - _MARGIN[1], 0)
    crop = sheet[top:min(y1 + _MARGIN[1], height), left:min(x1 + _MARGIN[0], width)]
    if not crop.size or x0 >= width or y0 >= height:
        raise ValueError(f"box {bbox} outside page {page}")
    marked = cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)
    cv2.rectangle(marked, (x0 - left, y0 - top), (x1 - left, y1 - top), _MARK, 2)
    return cv2.imencode(".png", marked)[1].tobytes()


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
