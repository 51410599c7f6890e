"""Digital PDFs (printed from Word or WPS): tables from ruling lines, text lines in reading order.

pdfplumber (MIT, on pdfminer.six) was chosen over PyMuPDF (AGPL) for its licence and because its
table finder exposes every cell's bounding box, which provenance needs. Each page's tables and
the text lines outside them are merged top to bottom; a table continued on the next page simply
continues, since extraction reads rows in order. Single-column "tables" are page frames around
prose and are read as text. A PDF whose text layer is too thin to be the report (a scan) is
rasterised with pypdfium2 and read by OCR (`service.ingest.scan`).
"""

from __future__ import annotations

import bisect
import io
import logging

import pdfplumber
import pypdfium2
from pdfminer.pdfparser import PDFSyntaxError
from pdfplumber.utils.exceptions import PdfminerException

from service.document import Cell, Document, DocumentBuilder, Location
from service.ingest import scan
from service.ingest.errors import IngestError
from service.ingest.furniture import is_page_number

log = logging.getLogger(__name__)
_MIN_CHARS_PER_PAGE = 20  # fewer than this on every page: a scan without a text layer
MAX_PAGES = 100  # reports run to a few dozen pages; more is some other document
MAX_SCANNED_PAGES = 50  # OCR costs seconds a page


def load(data: bytes) -> Document:
    count = _page_count(data)
    if count > MAX_PAGES:
        raise IngestError(f"PDF 共 {count} 页，超过 {MAX_PAGES} 页的上限，请只上传年度报告本身", f"{count} pages")
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        pages = list(pdf.pages)
    except (PDFSyntaxError, PdfminerException, ValueError, TypeError, KeyError) as exc:
        raise IngestError("PDF 文件已损坏或无法打开", f"pdfplumber failed: {exc!r}") from exc
    with pdf:
        builder = DocumentBuilder("pdf")
        chars = 0
        for number, page in enumerate(pages, start=1):
            chars += _read_page(page.dedupe_chars(), number, builder)
        if chars < _MIN_CHARS_PER_PAGE * max(len(pages), 1) / 4:
            return _read_scan(data, chars)
        return builder.build(title=_title(pdf))


def _page_count(data: bytes) -> int:
    """Opening with pdfium first tells an encrypted or broken file apart cheaply, before parsing."""
    try:
        with pypdfium2.PdfDocument(data) as pdf:
            return len(pdf)
    except pypdfium2.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise IngestError("PDF 文件已加密，请去除密码保护后再上传", f"pdfium: {exc}") from exc
        raise IngestError("PDF 文件已损坏或无法打开", f"pdfium: {exc}") from exc


def _read_scan(data: bytes, chars: int) -> Document:
    with pypdfium2.PdfDocument(data) as pdf:
        if len(pdf) > MAX_SCANNED_PAGES:
            raise IngestError(f"扫描件 PDF 共 {len(pdf)} 页，超过 {MAX_SCANNED_PAGES} 页的识别上限，请只上传年度报告本身",
                              f"{len(pdf)} scanned pages")
        log.info("no usable text layer (%d characters in %d pages): OCR", chars, len(pdf))
        images = [page.render(scale=scan.WORK_DPI / 72, grayscale=True).to_numpy() for page in pdf]
    return scan.read_pages(images, "pdf")


def _title(pdf) -> str | None:
    """The info dictionary's Title: PDFDocEncoding, or UTF-16 after a byte-order mark."""
    raw = next((info.get("Title") for info in pdf.doc.info if info.get("Title")), None)
    if isinstance(raw, bytes):
        utf16 = raw.startswith((b"\xfe\xff", b"\xff\xfe"))
        raw = raw.decode("utf-16" if utf16 else "latin-1", errors="replace")
    return raw.strip() or None if isinstance(raw, str) else None


def _inside(obj: dict, bbox: tuple) -> bool:
    x0, top, x1, bottom = bbox
    mid_x, mid_y = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
    return x0 <= mid_x <= x1 and top <= mid_y <= bottom


def _read_page(page, number: int, builder: DocumentBuilder) -> int:
    tables = [t for t in page.find_tables() if len({c[0] for c in t.cells}) > 1]
    boxes = [t.bbox for t in tables]
    text_page = page.filter(lambda obj: obj.get("object_type") != "char"
                            or not any(_inside(obj, box) for box in boxes))
    items = [(t.bbox[1], 0, t) for t in tables]
    items += [(line["top"], 1, line) for line in text_page.extract_text_lines()
              if not is_page_number(line["text"])]
    for _, kind, item in sorted(items, key=lambda entry: (entry[0], entry[1])):
        if kind == 0:
            builder.table(_grid(item, number), page=number, bbox=tuple(item.bbox))
        else:
            builder.paragraph(item["text"], page=number,
                              bbox=(item["x0"], item["top"], item["x1"], item["bottom"]))
    return len(page.chars)


def _span(edges: list[float], start: float, end: float) -> int:
    """How many grid lines from `edges` fall in [start, end): the cell's span."""
    return max(1, bisect.bisect_left(edges, end - 0.5) - bisect.bisect_left(edges, start - 0.5))


def _grid(table, page: int) -> list[list[Cell]]:
    xs = sorted({c[0] for c in table.cells})
    tops = sorted({c[1] for c in table.cells})
    rows = []
    for r, (row, texts) in enumerate(zip(table.rows, table.extract())):
        cells = []
        for c, (bbox, text) in enumerate(zip(row.cells, texts)):
            if bbox is None:
                continue  # covered by a merged cell
            cells.append(Cell(text=(text or "").replace("\n", "").strip(), row=r, col=c,
                              rowspan=_span(tops, bbox[1], bbox[3]), colspan=_span(xs, bbox[0], bbox[2]),
                              location=Location(page=page, bbox=tuple(bbox))))
        rows.append(cells)
    return rows
