"""Page images (scans, photos, PDFs without a text layer) → Document, by OCR.

Each page is straightened first: a photographed sheet is cut out of its background and warped
flat, uneven light is divided out, the page is turned upright (0/90/180/270) and a small skew is
rotated away. Then the table grid is rebuilt from the ruling lines (OpenCV morphology): the
lines' positions give an elementary grid, and wherever a wall between two grid cells is missing
the cells are merged, which yields the rowspan/colspan cells the other loaders produce. Each cell's
text lines and each text line outside the tables are cropped and read by the recogniser in
batches (`service.ingest.ocr`); no text detection model runs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

from service.document import Cell, Document, DocumentBuilder, Location, OcrReading
from service.ingest import ocr
from service.ingest.errors import IngestError
from service.ingest.furniture import is_page_number
from service.numbers import ocr_number

WORK_DPI = 200  # pages are analysed at this resolution whatever they came in
_A4_HEIGHT_INCHES = 11.69
_POINTS_PER_PIXEL = 72 / WORK_DPI
_MIN_LINE_GAP = 2  # pixel rows without ink that separate two text lines
_SPECK_AREA = 20  # pixels; a full stop at 9 pt is about 9
# A small blob within this reach of a character (rows, columns) belongs to it: a decimal point
# sits in the line, up to a character's width away; dust above or below the line is not text.
_SPECK_REACH = (7, 25)


@dataclass
class _Crop:
    """A text line to recognise, where it sits on the page."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels
    reading: ocr.Reading | None = None

    @property
    def read(self) -> ocr.Reading:
        """The reading, once the page's crops went through the recogniser (`read_pages`)."""
        assert self.reading is not None
        return self.reading


@dataclass
class _ScanCell:
    row: int
    col: int
    rowspan: int
    colspan: int
    box: tuple[int, int, int, int]
    lines: list[_Crop] = field(default_factory=list)


@dataclass
class _ScanTable:
    box: tuple[int, int, int, int]
    cells: list[_ScanCell]


@dataclass
class _Page:
    number: int
    height: int
    tables: list[_ScanTable] = field(default_factory=list)
    lines: list[_Crop] = field(default_factory=list)  # text outside the tables

    @property
    def crops(self) -> list[_Crop]:
        return self.lines + [line for t in self.tables for c in t.cells for line in c.lines]


def read_pages(images: list[np.ndarray], source_format: str) -> Document:
    """Grey-scale page images → Document. Boxes in provenance are in points on the straightened page."""
    with ThreadPoolExecutor(max_workers=2) as pool:  # OpenCV releases the GIL; two cores here
        pages = list(pool.map(_analyse, images, range(1, len(images) + 1)))
    crops = [crop for page, _ in pages for crop in page.crops]
    readings = ocr.recognise([_cut(image, crop.box) for (page, image) in pages for crop in page.crops])
    for crop, reading in zip(crops, readings):
        crop.reading = reading
    if not any(crop.read.text.strip() for crop in crops):
        raise IngestError("图片中没有识别到文字，请确认上传的是报告的扫描件或照片",
                          f"{len(images)} pages, {len(crops)} crops, no text")
    builder = DocumentBuilder(source_format)
    for page, _ in pages:
        _emit(page, builder)
    return builder.build()


# ---------------------------------------------------------------------------------------------- straighten
def straighten(image: np.ndarray) -> np.ndarray:
    """The page as it is read: cut out, light evened, upright, deskewed; provenance boxes are on it."""
    return _analyse(image, 1)[1]


def _analyse(image: np.ndarray, number: int) -> tuple[_Page, np.ndarray]:
    image = _flatten_light(_to_work_size(_cut_out_sheet(image)))
    image = _unbent(_squared_to_table(_deskew(_turned_sideways(image))))
    page = _layout(image, number)
    if ocr.upside_down([_cut(image, line.box) for line in _sample_lines(page)]) > 0.5:
        image = cv2.rotate(image, cv2.ROTATE_180)
        page = _layout(image, number)
    return page, image


def _layout(image: np.ndarray, number: int) -> _Page:
    ink = _off_the_edge(_ink(image))
    horizontal, vertical = _rulings(ink)
    specks = _specks(ink & ~(horizontal | vertical))
    ink[specks > 0] = 0
    image[specks > 0] = 255  # crops are cut from the image: the recogniser must not see them either
    page = _Page(number, image.shape[0])
    page.tables = [_table(box, horizontal, vertical, ink) for box in _table_boxes(horizontal, vertical)]
    page.lines = _text_lines(ink, [t.box for t in page.tables], horizontal | vertical)
    return page


def _off_the_edge(ink: np.ndarray) -> np.ndarray:
    """Ink without the blobs that touch the image's edge: the sheet's own edge, a strip of desk or
    shadow left by the warp. Print keeps a margin, so none of it is text or ruling."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    h, w = ink.shape
    x, y, bw, bh = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3]
    edge = (x == 0) | (y == 0) | (x + bw >= w) | (y + bh >= h)
    edge[0] = False
    ink[edge[labels]] = 0
    return ink


def _sample_lines(page: _Page, size: int = 12) -> list[_Crop]:
    """The longest text lines, for the orientation classifier: lines outside tables first."""
    cell_lines = [line for t in page.tables for c in t.cells for line in c.lines]
    by_width = lambda lines: sorted(lines, key=lambda c: c.box[0] - c.box[2])
    return (by_width(page.lines) + by_width(cell_lines))[:size]


def _cut_out_sheet(image: np.ndarray) -> np.ndarray:
    """A photographed sheet lies on a darker background: find its four corners and warp it flat.
    The sheet is the brighter region (Otsu), or, when a shadow darkens part of it, the outline of
    the sharp edges around it (Canny): a four-sided, A4-shaped outline clear of the image border."""
    small_scale = 800 / max(image.shape)
    small = cv2.GaussianBlur(cv2.resize(image, None, fx=small_scale, fy=small_scale, interpolation=cv2.INTER_AREA), (5, 5), 0)
    paper = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]
    edges = cv2.dilate(cv2.Canny(small, 40, 120), np.ones((3, 3), np.uint8))
    for mask in (paper, edges):
        corners = _sheet_corners(mask, small)
        if corners is not None:
            return _warp(image, corners / small_scale)
    return image


def _sheet_corners(mask: np.ndarray, small: np.ndarray) -> np.ndarray | None:
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    sheet = max(contours, key=cv2.contourArea)
    share = cv2.contourArea(sheet) / mask.size
    if not 0.25 < share < 0.9 or _touches_border(sheet, mask.shape):
        return None  # a scan is all sheet, a tiny blob no sheet, and a frame cutting the sheet shows no edge
    corners = _quadrilateral(sheet)
    four_sided = cv2.contourArea(cv2.convexHull(sheet)) < 1.05 * cv2.contourArea(corners)
    return corners if four_sided and _a4_shaped(corners) and _on_a_desk(sheet, small) else None


def _on_a_desk(outline: np.ndarray, small: np.ndarray, band: int = 9) -> bool:
    """Darker all round just outside the outline than just inside: a sheet on a desk, not a
    table's frame on white paper."""
    filled = cv2.drawContours(np.zeros(small.shape, np.uint8), [outline], -1, 255, cv2.FILLED)
    kernel = np.ones((band, band), np.uint8)
    outside = cv2.dilate(filled, kernel) > filled
    inside = filled > cv2.erode(filled, kernel)
    return bool(np.median(small[outside]) < np.median(small[inside]) - 25)


def _a4_shaped(corners: np.ndarray) -> bool:
    """Reports are printed on A4 (1 : 1.414); a camera's tilt foreshortens that a little."""
    tl, tr, br, bl = corners
    width = float(np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    height = float(np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    ratio = min(width, height) / max(width, height, 1)
    return 0.6 < ratio < 0.85


def _touches_border(contour: np.ndarray, shape: tuple[int, ...], reach: int = 3) -> bool:
    """A sheet lying on a desk has desk all round it; an outline running along the image's edge
    for a tenth of its length is the lit part of a sheet that fills the frame."""
    points = contour.reshape(-1, 2)
    ends = np.roll(points, -1, axis=0)
    h, w = shape[:2]
    along = lambda a, b: (a < reach) & (b < reach)
    on = (along(points[:, 0], ends[:, 0]) | along(points[:, 1], ends[:, 1])
          | along(w - 1 - points[:, 0], w - 1 - ends[:, 0]) | along(h - 1 - points[:, 1], h - 1 - ends[:, 1]))
    lengths = np.linalg.norm(ends - points, axis=1)
    return bool(lengths[on].sum() > 0.1 * lengths.sum())


def _quadrilateral(contour: np.ndarray) -> np.ndarray:
    """Four corners of a roughly upright four-sided outline, also when its sides bow a little (a
    bent sheet) or a corner is rounded off: the outline's points extreme along the diagonals."""
    points = contour.reshape(-1, 2).astype(np.float32)
    s, d = points.sum(axis=1), np.diff(points, axis=1).ravel()
    return np.array([points[s.argmin()], points[d.argmin()], points[s.argmax()], points[d.argmax()]], np.float32)


def _to_work_size(image: np.ndarray) -> np.ndarray:
    """Photos and scans come at any resolution: bring the sheet to A4 at WORK_DPI, so that
    ruling lines, strokes and gaps have known sizes in pixels."""
    scale = _A4_HEIGHT_INCHES * WORK_DPI / max(image.shape)
    if abs(scale - 1) < 0.02:
        return image
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)


def _warp(image: np.ndarray, corners: np.ndarray) -> np.ndarray:
    s, d = corners.sum(axis=1), np.diff(corners, axis=1).ravel()
    tl, br, tr, bl = corners[s.argmin()], corners[s.argmax()], corners[d.argmin()], corners[d.argmax()]
    width = int(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = int(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(np.array([tl, tr, br, bl], np.float32), target)
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderValue=255)


def _flatten_light(image: np.ndarray) -> np.ndarray:
    """Divide by the paper's own brightness (ink removed by a max filter), so shadows and
    gradients leave white paper and dark ink everywhere."""
    small = cv2.resize(image, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA)
    paper = cv2.dilate(small, np.ones((5, 5), np.uint8))
    paper = cv2.resize(cv2.GaussianBlur(paper, (0, 0), 2), (image.shape[1], image.shape[0]))
    return cv2.divide(image, np.maximum(paper, 1), scale=255)


def _specks(ink: np.ndarray) -> np.ndarray:
    """Small blobs far from any character: scanner dust, not a decimal point or a dot of "1."."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    small = stats[:, cv2.CC_STAT_AREA] < _SPECK_AREA
    small[0] = False
    characters = ink.copy()
    characters[small[labels]] = 0
    near = cv2.dilate(characters, np.ones(_SPECK_REACH, np.uint8))
    isolated = small[labels] & (near == 0)
    return cv2.dilate(isolated.astype(np.uint8) * 255, np.ones((3, 3), np.uint8))


def _ink(image: np.ndarray) -> np.ndarray:
    return cv2.adaptiveThreshold(image, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY_INV, 25, 20)


def _turned_sideways(image: np.ndarray) -> np.ndarray:
    """Turn a page lying on its side (90° or 270°) so its text runs across; which way up it then
    is, the line classifier decides later."""
    if _wide_blobs(np.ascontiguousarray(image.T)) > _wide_blobs(image):
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    return image


def _wide_blobs(image: np.ndarray) -> int:
    """Ink area in blobs much wider than tall once characters are closed into their lines:
    large when text runs across, near nothing when it runs down."""
    small = cv2.resize(image, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    ink = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)[1]
    closed = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((1, 5), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(closed)
    width, height, area = stats[1:count, 2], stats[1:count, 3], stats[1:count, 4]
    lines = (width > 3 * height) & (height >= 3) & (height < 20)  # ruling lines are thinner
    return int(area[lines].sum())


def _deskew(image: np.ndarray) -> np.ndarray:
    """The angle (within ±6°) at which rows of ink are sharpest: coarse search, then fine."""
    small = cv2.resize(image, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    ink = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)[1]
    best = max(np.arange(-6, 6.01, 0.25), key=lambda a: _sharpness(ink, a))
    best = max(np.arange(best - 0.2, best + 0.21, 0.05), key=lambda a: _sharpness(ink, a))
    if abs(best) < 0.05:
        return image
    return _rotate(image, best)


def _squared_to_table(image: np.ndarray) -> np.ndarray:
    """A photo that cut off the sheet's edges keeps its perspective: the largest table's frame, a
    rectangle on paper, is then a skewed quadrilateral in the image. Warp the page so that it is a
    rectangle again (the page is one plane, so the text around the table comes straight too)."""
    frame = _table_frame(_ink(image))
    if frame is None:
        return image
    tl, tr, br, bl = frame
    width = (np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
    height = (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
    origin = (tl + tr + br + bl) / 4 - (width / 2, height / 2)
    target = np.array([origin, origin + (width, 0), origin + (width, height), origin + (0, height)], np.float32)
    if np.abs(target - frame).max() < 3:  # a scan's table is already square
        return image
    matrix = cv2.getPerspectiveTransform(frame, target)
    return cv2.warpPerspective(image, matrix, image.shape[::-1], flags=cv2.INTER_LINEAR, borderValue=255)


def _table_frame(ink: np.ndarray) -> np.ndarray | None:
    """Corners (tl, tr, br, bl) of the largest ruled table: the biggest blob of connected ink that
    spans an inch or more each way clear of the image's edge (a desk's edge reaches it), its
    outline four-sided (it fills its corners' quadrilateral) with corners near right angles."""
    joined = cv2.dilate(ink, np.ones((3, 3), np.uint8))  # bridge breaks in faint lines
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    h, w = ink.shape
    inside = lambda x, y, bw, bh: x > 2 and y > 2 and x + bw < w - 2 and y + bh < h - 2
    big = [i for i in range(1, count) if min(stats[i, 2], stats[i, 3]) > WORK_DPI and inside(*stats[i, :4])]
    if not big:
        return None
    largest = max(big, key=lambda i: stats[i, cv2.CC_STAT_WIDTH] * stats[i, cv2.CC_STAT_HEIGHT])
    x, y, bw, bh = stats[largest, :4]
    blob = (labels[y:y + bh, x:x + bw] == largest).astype(np.uint8)
    outline = max(cv2.findContours(blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0], key=cv2.contourArea)
    corners = _quadrilateral(outline)
    if cv2.contourArea(cv2.convexHull(outline)) > 1.03 * cv2.contourArea(corners) or not _square_cornered(corners):
        return None  # not four-sided: ink touching the frame, or no table
    return corners + np.array([x, y], np.float32)


def _square_cornered(corners: np.ndarray, slack: float = 20) -> bool:
    """Every corner within `slack` degrees of a right angle, as a photographed rectangle's are."""
    for i in range(4):
        a, b = corners[i - 1] - corners[i], corners[(i + 1) % 4] - corners[i]
        cosine = float(a @ b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-6)
        if abs(np.degrees(np.arccos(np.clip(cosine, -1, 1))) - 90) > slack:
            return False
    return True


def _unbent(image: np.ndarray, band: int = 300, strip: int = 80) -> np.ndarray:
    """A sheet that does not lie flat bows its rows. Short pieces of horizontal ruling lines show
    by how much: in bands down the page, each strip across is matched against its neighbour's
    profile of line pieces, the offsets summed outward from mid-page, and the page remapped so
    every row runs straight."""
    h, w = image.shape
    pieces = cv2.morphologyEx(_ink(image), cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (WORK_DPI // 4, 1)))
    bands = [_strip_offsets(pieces[top:top + band], strip) for top in range(0, h - band // 2, band)]
    offsets = np.array([b for b in bands if b is not None], np.float32)
    if offsets.size == 0 or np.abs(offsets).max() < 1.5:
        return image
    shift = cv2.resize(offsets, (w, h), interpolation=cv2.INTER_LINEAR)
    xx, yy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, xx, yy + shift, cv2.INTER_LINEAR, borderValue=255)


def _strip_offsets(pieces: np.ndarray, strip: int, reach: int = 6) -> np.ndarray | None:
    """How far each strip's line pieces lie below those of the middle strip, smoothed across the
    band by a cubic; None when the band holds too few ruling lines to tell."""
    profiles = [pieces[:, x:x + strip].sum(axis=1, dtype=np.float64) for x in range(0, pieces.shape[1] - strip + 1, strip)]
    enough = [p.sum() > 255 * strip * 2 for p in profiles]  # two lines across the strip
    if sum(enough) < max(4, len(profiles) // 2):
        return None
    middle = len(profiles) // 2
    offsets = np.zeros(len(profiles))
    for k in [*range(middle + 1, len(profiles)), *range(middle - 1, -1, -1)]:
        toward = k - 1 if k > middle else k + 1
        offsets[k] = offsets[toward] + (_offset(profiles[k], profiles[toward], reach) if enough[k] and enough[toward] else 0)
    xs = np.flatnonzero(enough)
    fit = np.polyval(np.polyfit(xs, offsets[xs], min(3, len(xs) - 1)), np.arange(len(profiles)))
    return fit - fit[middle]


def _offset(profile: np.ndarray, reference: np.ndarray, reach: int) -> float:
    """The shift s (within ±reach, to a tenth of a pixel) that best lays reference(y - s) on profile(y)."""
    n = len(profile)
    scores = np.array([profile[max(s, 0):n + min(s, 0)] @ reference[max(-s, 0):n - max(s, 0)]
                       for s in range(-reach, reach + 1)])
    best = int(scores.argmax())
    if 0 < best < len(scores) - 1:  # the peak between samples, by the parabola through three
        left, mid, right = scores[best - 1:best + 2]
        bend = left - 2 * mid + right
        return best - reach + (0.5 * (left - right) / bend if bend else 0.0)
    return float(best - reach)


def _rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    h, w = image.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)


def _sharpness(ink: np.ndarray, degrees: float) -> float:
    profile = _rotate(255 - ink, degrees).astype(np.float64)
    profile = (255 - profile).sum(axis=1)
    return float(np.square(np.diff(profile)).sum())


# ---------------------------------------------------------------------------------------------- tables
def _rulings(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical ruling lines: ink runs longer than any character stroke. A faint line
    loses a few pixels beside a crossing line (the threshold is local), so gaps that short are
    closed along the line first."""
    long_h = cv2.getStructuringElement(cv2.MORPH_RECT, (WORK_DPI // 2, 1))
    long_v = cv2.getStructuringElement(cv2.MORPH_RECT, (1, WORK_DPI // 5))
    along_h, along_v = np.ones((1, 5), np.uint8), np.ones((3, 1), np.uint8)  # text lines lie closer than words
    horizontal = cv2.morphologyEx(cv2.morphologyEx(ink, cv2.MORPH_CLOSE, along_h), cv2.MORPH_OPEN, long_h)
    vertical = cv2.morphologyEx(cv2.morphologyEx(ink, cv2.MORPH_CLOSE, along_v), cv2.MORPH_OPEN, long_v)
    horizontal = cv2.dilate(horizontal, np.ones((3, 3), np.uint8))
    vertical = _spanning(cv2.dilate(vertical, np.ones((3, 3), np.uint8)), horizontal)
    return horizontal, vertical


def _spanning(vertical: np.ndarray, horizontal: np.ndarray, reach: int = 6) -> np.ndarray:
    """Vertical pieces that run from one horizontal line to another (a ruling between two rows), or
    from one for half an inch (a table cut open by a page break). A large character's long stroke
    (十, 目 at 12 pt, smeared by the camera) touches no line."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(vertical, connectivity=8)
    keep = np.zeros(count, bool)
    for i in range(1, count):
        x, y, w, h = stats[i, :4]
        touches = lambda row: bool(horizontal[max(row - reach, 0):row + reach + 1, x:x + w].any())  # noqa: B023 (called here)
        ends = touches(y) + touches(y + h - 1)
        keep[i] = ends == 2 or (ends == 1 and h >= WORK_DPI // 2)
    return np.where(keep[labels], vertical, 0).astype(np.uint8)


def _table_boxes(horizontal: np.ndarray, vertical: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Frames of crossing lines that enclose at least one cell."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(horizontal | vertical)
    boxes = []
    for x, y, w, h, _ in stats[1:count]:
        inside_v = vertical[y:y + h, x:x + w].any(axis=0).sum()
        if w > WORK_DPI and h > WORK_DPI // 8 and inside_v >= 2:
            boxes.append((int(x), int(y), int(x + w), int(y + h)))
    return sorted(boxes, key=lambda b: b[1])


def _positions(mask: np.ndarray, axis: int, gap: int = 6) -> list[int]:
    """Centres of the ruling lines along one axis (rows for horizontal lines)."""
    hits = np.flatnonzero(mask.any(axis=axis))
    if hits.size == 0:
        return []
    groups = np.split(hits, np.flatnonzero(np.diff(hits) > gap) + 1)
    return [int(g.mean()) for g in groups]


def _table(box, horizontal, vertical, ink) -> _ScanTable:
    x0, y0, x1, y1 = box
    h_lines, v_lines = horizontal[y0:y1, x0:x1], vertical[y0:y1, x0:x1]
    ys = _closed(_positions(_long_runs(h_lines, axis=1), axis=1), y1 - y0)
    xs = _positions(_long_runs(v_lines, axis=0), axis=0)
    cells = _merge_cells(ys, xs, h_lines, v_lines)
    text_ink = ink[y0:y1, x0:x1] & ~(h_lines | v_lines)
    for cell in cells:
        cx0, cy0, cx1, cy1 = cell.box
        cell.lines = [_Crop((a + x0, b + y0, c + x0, d + y0))
                      for a, b, c, d in _lines_in(text_ink, cell.box)]
        cell.box = (cx0 + x0, cy0 + y0, cx1 + x0, cy1 + y0)
    return _ScanTable(box, cells)


def _closed(ys: list[int], height: int, slack: int = 12) -> list[int]:
    """A table cut by a page break has no ruling line where it was cut, but its vertical lines run
    on: their ends close the open row."""
    if ys and ys[0] > slack:
        ys = [0, *ys]
    if ys and ys[-1] < height - slack:
        ys = [*ys, height - 1]
    return ys


def _long_runs(lines: np.ndarray, axis: int) -> np.ndarray:
    """Keep only line pixels in rows (axis=1) or columns (axis=0) covered for ≥ 1/20 of the table,
    so a stroke that survived the opening does not become a grid line."""
    length = lines.shape[1 - axis] if axis == 1 else lines.shape[0]
    covered = (lines > 0).sum(axis=axis) >= max(length // 20, 8)
    out = np.zeros_like(lines)
    if axis == 1:
        out[covered, :] = lines[covered, :]
    else:
        out[:, covered] = lines[:, covered]
    return out


def _wall(mask: np.ndarray, fixed: int, start: int, end: int, vertical: bool) -> bool:
    """Is there a ruling line at `fixed` between `start` and `end` (along the other axis)?"""
    lo, hi = start + (end - start) // 5, end - (end - start) // 5
    band = mask[lo:hi, max(fixed - 4, 0):fixed + 5] if vertical else mask[max(fixed - 4, 0):fixed + 5, lo:hi]
    covered = band.any(axis=1 if vertical else 0)
    return covered.size > 0 and covered.mean() > 0.6


def _merge_cells(ys, xs, h_lines, v_lines) -> list[_ScanCell]:
    """Elementary cells joined wherever the wall between them is missing (union-find)."""
    n_rows, n_cols = len(ys) - 1, len(xs) - 1
    parent = list(range(max(n_rows * n_cols, 0)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in range(n_rows):
        for c in range(n_cols):
            if c + 1 < n_cols and not _wall(v_lines, xs[c + 1], ys[r], ys[r + 1], vertical=True):
                parent[find(r * n_cols + c + 1)] = find(r * n_cols + c)
            if r + 1 < n_rows and not _wall(h_lines, ys[r + 1], xs[c], xs[c + 1], vertical=False):
                parent[find((r + 1) * n_cols + c)] = find(r * n_cols + c)
    members: dict[int, list[tuple[int, int]]] = {}
    for r in range(n_rows):
        for c in range(n_cols):
            members.setdefault(find(r * n_cols + c), []).append((r, c))
    cells = []
    for group in members.values():
        r0, c0 = min(r for r, _ in group), min(c for _, c in group)
        r1, c1 = max(r for r, _ in group), max(c for _, c in group)
        cells.append(_ScanCell(r0, c0, r1 - r0 + 1, c1 - c0 + 1, (xs[c0], ys[r0], xs[c1 + 1], ys[r1 + 1])))
    return sorted(cells, key=lambda c: (c.row, c.col))


# ---------------------------------------------------------------------------------------------- text lines
def _lines_in(ink: np.ndarray, box, inset: int = 5) -> list[tuple[int, int, int, int]]:
    """Text lines inside a cell: bands of rows with ink, each cut to the columns it inks."""
    x0, y0, x1, y1 = box
    area = ink[y0 + inset:y1 - inset, x0 + inset:x1 - inset]
    if area.size == 0:
        return []
    out = []
    for top, bottom in _bands(area.sum(axis=1) > 0):
        cols = np.flatnonzero(area[top:bottom].any(axis=0))
        if bottom - top >= 6 and cols.size:
            out.append((x0 + inset + int(cols[0]), y0 + inset + top, x0 + inset + int(cols[-1]) + 1, y0 + inset + bottom))
    return out


def _bands(rows: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True rows, joined over gaps narrower than _MIN_LINE_GAP."""
    hits = np.flatnonzero(rows)
    if hits.size == 0:
        return []
    groups = np.split(hits, np.flatnonzero(np.diff(hits) > _MIN_LINE_GAP) + 1)
    return [(int(g[0]), int(g[-1]) + 1) for g in groups]


def _text_lines(ink: np.ndarray, tables, rulings: np.ndarray) -> list[_Crop]:
    """Lines of text outside the tables, top to bottom; specks are not lines."""
    free = ink & ~rulings
    free = cv2.morphologyEx(free, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    for x0, y0, x1, y1 in tables:
        free[max(y0 - 3, 0):y1 + 3, max(x0 - 3, 0):x1 + 3] = 0
    lines = []
    for top, bottom in _bands(free.sum(axis=1) > 255 * 3):
        if bottom - top < 10:
            continue
        cols = np.flatnonzero(free[top:bottom].sum(axis=0) > 0)
        lines.append(_Crop((int(cols[0]), top, int(cols[-1]) + 1, bottom)))
    return lines


def _cut(image: np.ndarray, box, pad: int = 4) -> np.ndarray:
    x0, y0, x1, y1 = box
    crop = image[max(y0 - pad, 0):y1 + pad, max(x0 - pad, 0):x1 + pad]
    return crop if crop.size else np.full((8, 8), 255, np.uint8)


# ---------------------------------------------------------------------------------------------- output
def _emit(page: _Page, builder: DocumentBuilder) -> None:
    items = [(t.box[1], t) for t in page.tables] + [(line.box[1], line) for line in page.lines]
    for _, item in sorted(items, key=lambda entry: entry[0]):
        if isinstance(item, _ScanTable):
            builder.table(_grid(item, page), page=page.number, bbox=_points(item.box))
        elif item.read.text and not _page_number(item, page):
            builder.paragraph(item.read.text, page=page.number, bbox=_points(item.box),
                              ocr=_provenance([item]))


def _page_number(line: _Crop, page: _Page) -> bool:
    """A page number, also when the recogniser lost a dash of "- 3 -"."""
    text = line.read.text
    bare = text.strip(" -—–－·.一")  # a dash is often read as 一
    return is_page_number(text) or (bare.isdigit() and line.box[1] > page.height * 0.9)


def _grid(table: _ScanTable, page: _Page) -> list[list[Cell]]:
    by_row: dict[int, list[_ScanCell]] = {}
    for cell in table.cells:
        by_row.setdefault(cell.row, []).append(cell)
    rows = [part for r in sorted(by_row) for part in _split_by_text_lines(by_row[r])]
    return [[_cell(cell, page) for cell in row] for row in rows]


def _cell(cell: _ScanCell, page: _Page) -> Cell:
    read = "".join(line.read.text for line in cell.lines)
    text = ocr_number(read) or read if read else ""
    location = Location(page=page.number, bbox=_points(cell.box), ocr=_provenance(cell.lines))
    return Cell(text=text, row=cell.row, col=cell.col, rowspan=cell.rowspan, colspan=cell.colspan, location=location)


def _split_by_text_lines(cells: list[_ScanCell]) -> list[list[_ScanCell]]:
    """A row whose ruling line underneath was lost holds two rows: most of its number cells read two
    numbers, one above the other at the same height. Split it there, by the text lines' positions,
    so the template's row order still finds both rows."""
    single = [c for c in cells if c.rowspan == 1]
    numbers = [c for c in single if c.lines and all(ocr_number(line.read.text) for line in c.lines)]
    doubled = [c for c in numbers if len(c.lines) == 2]
    if len(doubled) < 3 or len(doubled) < 0.6 * len(numbers):
        return [cells]
    gaps = [(c.lines[0].box[3] + c.lines[1].box[1]) / 2 for c in doubled]
    at = int(np.median(gaps))
    if max(gaps) - min(gaps) > 12:
        return [cells]  # the second lines do not sit at one height: wrapped text, not two rows
    above, below = [], []
    for cell in cells:
        if cell.rowspan > 1:  # a merged label spans both
            above.append(cell)
            continue
        x0, y0, x1, y1 = cell.box
        top = [line for line in cell.lines if line.box[3] <= at]
        above.append(_ScanCell(cell.row, cell.col, 1, cell.colspan, (x0, y0, x1, at), top))
        below.append(_ScanCell(cell.row, cell.col, 1, cell.colspan, (x0, at, x1, y1),
                               [line for line in cell.lines if line not in top]))
    return [above, below]


def _provenance(lines: list[_Crop]) -> OcrReading:
    if not lines:
        return OcrReading(text="", confidence=1.0)
    text = "".join(line.read.text for line in lines)
    alternatives = []
    for i, line in enumerate(lines):  # one line read otherwise, the others as they are
        before = "".join(x.read.text for x in lines[:i])
        after = "".join(x.read.text for x in lines[i + 1:])
        alternatives += [before + alt + after for alt in line.read.alternatives]
    return OcrReading(text=text, confidence=round(min(line.read.confidence for line in lines), 4),
                      alternatives=alternatives, unread=not text.strip())


def _points(box) -> tuple[float, float, float, float]:
    return tuple(round(v * _POINTS_PER_PIXEL, 2) for v in box)
