"""Gold reports printed on paper: a digital PDF, scanned PDFs and phone photos of the pages.

The page model of eval/render.py is laid out once on A4 sheets (text lines and ruling lines in
points, tables as the national template merges them), then drawn two ways: as a PDF with a text
layer (fpdf2) and as page images (Pillow) that are degraded as a scanner or a phone camera would.

Modalities (`MODALITIES`), every random choice drawn from the seed:
- "pdf"      printed from a word processor: text layer, ruling lines, nothing to OCR;
- "scan200"  scanned at 200 dpi: rotated by up to 1.5°, blurred, speckled, stored as JPEG quality 60;
- "scan150"  the same at 150 dpi;
- "photo_mild", "photo_moderate", "photo_severe"
             each page photographed with a phone at a graded severity (`SEVERITIES`): bent, in
             perspective (up to ±8 % a corner) and turned (up to ±5°), on a desk or filling the
             frame with its edges cut, light falling off, a shadow, a colour cast, motion blur,
             100–150 dpi, JPEG quality 50–85; tables broken across pages at random rows. The JPEG
             pages (`photo_pages`) are gathered into one lossless PDF, as the eval reads one file
             per report.

The font is AR PL UMing (a Song/Ming face like the SimSun reports print in) from Debian's
fonts-arphic-uming, which the Makefile installs. It is TrueType: fpdf2 writes CFF-based CJK fonts
(Noto CJK) with an embedded CMap that pdfminer cannot read, so a PDF printed in them has no text.
Run `python -m eval.modalities gold.json --modality scan200 -o out.pdf`.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from eval import render

FONT = Path("/usr/share/fonts/truetype/arphic/uming.ttc")
PAGE_W, PAGE_H = 595.28, 841.89  # A4 in points
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 64.0, 72.0, 72.0
SIZES = {"title": 16.0, "heading": 12.0, "text": 12.0, "furniture": 10.5, "table": 9.0}
_CELL_PAD = 3.0
_RULE_PT = 0.75
_MIN_COL, _MAX_COL = 26.0, 130.0


# ---------------------------------------------------------------------------------------------- layout
@dataclass
class Text:
    x: float  # left edge, points
    baseline: float
    size: float
    text: str


@dataclass
class Rule:
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass
class Sheet:
    texts: list[Text] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)


@cache
def _font(size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size_px, index=0)


def text_width(text: str, size: float) -> float:
    """Width in points, measured at 10× size for precision."""
    return _font(int(size * 10)).getlength(text) / 10


def wrap(text: str, size: float, width: float) -> list[str]:
    """Break anywhere between characters, as Chinese typesetting does."""
    lines, line = [], ""
    for char in text:
        if line and text_width(line + char, size) > width:
            lines.append(line)
            line = ""
        line += char
    return lines + [line] if line or not lines else lines


class _Layout:
    """Flows blocks down A4 sheets; a table row that does not fit starts a new sheet, and so does,
    with probability `split`, one row drawn at random from each table (as a page break falls in
    reports printed from other editors, also inside a merged label's span)."""

    def __init__(self, split: float = 0.0, rng: np.random.Generator | None = None) -> None:
        self.sheets: list[Sheet] = []
        self._split, self._rng = split, rng
        self._new_sheet()

    def _new_sheet(self) -> None:
        self.sheets.append(Sheet())
        self.y = MARGIN_TOP

    @property
    def sheet(self) -> Sheet:
        return self.sheets[-1]

    def paragraph(self, para: render.Para) -> None:
        if para.kind == "break":
            return self._new_sheet()
        size = SIZES[para.kind]
        width = PAGE_W - 2 * MARGIN_X
        indent = 2 * size if para.kind == "text" else 0.0
        lines = wrap(para.text, size, width - indent)
        for i, line in enumerate(lines):
            if self.y + 1.6 * size > PAGE_H - MARGIN_BOTTOM:
                self._new_sheet()
            if para.kind == "title":
                x = (PAGE_W - text_width(line, size)) / 2
            else:
                x = MARGIN_X + (indent if i == 0 else 0.0)
            self.sheet.texts.append(Text(x, self.y + size, size, line))
            self.y += 1.6 * size
        if para.kind == "title":
            self.y += size

    def table(self, grid: render.Grid) -> None:
        size = SIZES["table"]
        xs = _column_edges(grid, size)
        lines = [[wrap(c.text, size, xs[c.col + c.colspan] - xs[c.col] - 2 * _CELL_PAD) for c in row]
                 for row in grid.rows]
        heights = _row_heights(grid, lines, size)
        placed = []  # (sheet index, top) per row
        self.y += 0.5 * size
        forced = self._forced_break(len(heights))
        for r, height in enumerate(heights):
            if self.y + height > PAGE_H - MARGIN_BOTTOM or r == forced:
                self._new_sheet()
            placed.append((len(self.sheets) - 1, self.y))
            self.y += height
        for r, row in enumerate(grid.rows):
            for cell, cell_lines in zip(row, lines[r]):
                self._cell(cell, cell_lines, r, xs, heights, placed, size)
        self.y += size

    def _forced_break(self, rows: int) -> int | None:
        if self._rng is None or rows < 3 or self._rng.random() >= self._split:
            return None
        return int(self._rng.integers(2, rows))  # never between the header's two rows

    def _cell(self, cell, cell_lines, r, xs, heights, placed, size) -> None:
        """Borders of every part of the cell (a span cut by a page break has two); text in the first."""
        rows = range(r, r + cell.rowspan)
        x0, x1 = xs[cell.col], xs[cell.col + cell.colspan]
        parts: dict[int, list[float]] = {}
        for k in rows:
            sheet, top = placed[k]
            part = parts.setdefault(sheet, [top, top])
            part[1] = top + heights[k]
        for n, (sheet, (top, bottom)) in enumerate(parts.items()):
            rules = self.sheets[sheet].rules
            rules += [Rule(x0, top, x1, top), Rule(x0, bottom, x1, bottom), Rule(x0, top, x0, bottom),
                      Rule(x1, top, x1, bottom)]
            if n == 0:
                line_h = 1.3 * size
                y = top + (bottom - top - line_h * len(cell_lines)) / 2
                for i, line in enumerate(cell_lines):
                    x = x0 + (x1 - x0 - text_width(line, size)) / 2
                    self.sheets[sheet].texts.append(Text(x, y + i * line_h + 1.05 * size, size, line))

    def page_numbers(self) -> None:
        for number, sheet in enumerate(self.sheets, start=1):
            label = f"- {number} -"
            size = SIZES["furniture"]
            sheet.texts.append(Text((PAGE_W - text_width(label, size)) / 2, PAGE_H - MARGIN_BOTTOM / 2, size, label))


def _column_edges(grid: render.Grid, size: float) -> list[float]:
    """Column widths from their one-column cells' natural widths, scaled to the text width."""
    n = max(c.col + c.colspan for row in grid.rows for c in row)
    natural = [_MIN_COL] * n
    for row in grid.rows:
        for c in row:
            if c.colspan == 1 and c.rowspan == 1:
                wanted = text_width(c.text, size) + 2 * _CELL_PAD
                natural[c.col] = max(natural[c.col], min(wanted, _MAX_COL))
    scale = (PAGE_W - 2 * MARGIN_X) / sum(natural)
    edges = [MARGIN_X]
    for width in natural:
        edges.append(edges[-1] + width * scale)
    return edges


def _row_heights(grid: render.Grid, lines, size: float) -> list[float]:
    line_h = 1.3 * size
    need = lambda cell_lines: len(cell_lines) * line_h + 2 * _CELL_PAD
    heights = [line_h + 2 * _CELL_PAD] * len(grid.rows)
    for r, row in enumerate(grid.rows):
        for cell, cell_lines in zip(row, lines[r]):
            if cell.rowspan == 1:
                heights[r] = max(heights[r], need(cell_lines))
    for r, row in enumerate(grid.rows):  # a tall merged cell widens the last row it covers
        for cell, cell_lines in zip(row, lines[r]):
            short = need(cell_lines) - sum(heights[r:r + cell.rowspan])
            if cell.rowspan > 1 and short > 0:
                heights[r + cell.rowspan - 1] += short
    return heights


def lay_out(gold: dict, style: render.Style = render.Style(), split: float = 0.0,
            rng: np.random.Generator | None = None) -> list[Sheet]:
    layout = _Layout(split, rng)
    for block in render.build_page(gold, style).blocks:
        if isinstance(block, render.Grid):
            layout.table(block)
        else:
            layout.paragraph(block)
    layout.page_numbers()
    return layout.sheets


# ---------------------------------------------------------------------------------------------- drawing
def to_pdf(sheets: list[Sheet], title: str) -> bytes:
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # the font's bitmap table is dropped
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_title(title)
    pdf.add_font("song", "", str(FONT), collection_font_number=0)
    pdf.set_line_width(_RULE_PT)
    for sheet in sheets:
        pdf.add_page()
        for rule in sheet.rules:
            pdf.line(rule.x0, rule.y0, rule.x1, rule.y1)
        for text in sheet.texts:
            pdf.set_font("song", size=text.size)
            pdf.text(text.x, text.baseline, text.text)
    return bytes(pdf.output())


def to_image(sheet: Sheet, dpi: int) -> Image.Image:
    """A clean grey-scale page as a flatbed scanner would see it before noise."""
    k = dpi / 72
    image = Image.new("L", (round(PAGE_W * k), round(PAGE_H * k)), 255)
    draw = ImageDraw.Draw(image)
    width = max(1, round(_RULE_PT * k))
    for rule in sheet.rules:
        draw.line([(rule.x0 * k, rule.y0 * k), (rule.x1 * k, rule.y1 * k)], fill=20, width=width)
    for text in sheet.texts:
        draw.text((text.x * k, text.baseline * k), text.text, fill=20, font=_font(round(text.size * k)), anchor="ls")
    return image


# ---------------------------------------------------------------------------------------------- degradation
def scan(page: Image.Image, dpi: int, rng: np.random.Generator) -> Image.Image:
    """Slight rotation (≤ 1.5°), optical blur, a grey paper tone, noise and speckle."""
    angle = float(rng.uniform(-1.5, 1.5))
    image = page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    image = image.filter(ImageFilter.GaussianBlur(radius=0.45 * dpi / 150))
    pixels = np.asarray(image, dtype=np.float32) * 0.92 + 10  # ink is never black, paper never white
    pixels += rng.normal(0, 4, pixels.shape)
    specks = rng.random(pixels.shape) < 0.0004
    pixels[specks] = rng.uniform(0, 120, int(specks.sum()))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


@dataclass(frozen=True)
class Severity:
    """How badly a phone photographs a page; each draw is uniform within these bounds."""

    perspective: float  # how far each corner moves, as a share of the sheet's width and height
    rotation: float  # degrees either way
    bend: float  # how far a row sags at mid-page, as a share of the page height
    shade: float  # light falling off across the sheet, and the depth of a shadow
    cast: float  # colour cast: each channel scaled by up to this much
    blur: float  # motion blur, pixels at the photo's resolution
    dpi: tuple[int, int]  # resolution of the sheet in the photo
    quality: tuple[int, int]  # JPEG quality
    cut: float  # how often the sheet fills the frame with its edges cut off (else it lies on a desk)
    split: float  # how often a table is broken across pages at a random row


SEVERITIES = {
    "mild": Severity(0.02, 1.0, 0.002, 0.15, 0.04, 0.5, (140, 150), (80, 85), 0.0, 0.3),
    "moderate": Severity(0.05, 3.0, 0.005, 0.3, 0.08, 1.0, (120, 150), (65, 85), 0.3, 0.6),
    "severe": Severity(0.08, 5.0, 0.01, 0.45, 0.12, 2.0, (100, 150), (50, 85), 0.5, 1.0),
}


def photo(page: Image.Image, rng: np.random.Generator, severity: Severity = SEVERITIES["moderate"]) -> Image.Image:
    """The page shot with a phone: bent, in perspective and turned, on a desk or filling the frame
    with its edges cut off, lit unevenly with a shadow and a colour cast, shaken, stored as JPEG."""
    import cv2  # opencv-python-headless, a dependency of the OCR loader

    paper = _bent(np.asarray(page, np.float32), rng.uniform(-1, 1) * severity.bend, cv2)
    h, w = paper.shape
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    moved = corners + rng.uniform(-severity.perspective, severity.perspective, (4, 2)).astype(np.float32) * (w, h)
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-severity.rotation, severity.rotation)), 1.0)
    moved = np.array(cv2.transform(moved[None], turn)[0], np.float32)
    frame = _frame(moved, rng.random() < severity.cut, rng)
    moved -= np.array(frame[:2], np.float32)
    size = (int(frame[2] - frame[0]), int(frame[3] - frame[1]))
    matrix = cv2.getPerspectiveTransform(corners, moved)
    sheet = cv2.warpPerspective(paper, matrix, size, flags=cv2.INTER_CUBIC)
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, size)
    image = _lit(sheet * mask + _desk(size, rng) * (1 - mask), severity, rng)
    image = _coloured(image, severity.cast, rng)
    image = _shaken(image, rng.uniform(0, severity.blur), rng, cv2) + rng.normal(0, 3, image.shape)
    return _jpeg(image, int(rng.integers(severity.quality[0], severity.quality[1] + 1)))


def _bent(paper: np.ndarray, sag: float, cv2) -> np.ndarray:
    """A sheet that does not lie flat: rows bow as a parabola across the page, most at mid-page."""
    h, w = paper.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = xx / w
    lift = sag * h * 4 * u * (1 - u) * (0.6 + 0.4 * yy / h)
    return cv2.remap(paper, xx, yy + lift, cv2.INTER_LINEAR, borderValue=255)


def _frame(corners: np.ndarray, cut: bool, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """The photo's frame: a desk around the sheet, or a frame inside the sheet cutting its edges
    (by up to 4 % a side, within the page margins, so no text is lost)."""
    x0, y0 = corners.min(axis=0)
    x1, y1 = corners.max(axis=0)
    w, h = x1 - x0, y1 - y0
    if cut:
        inset = rng.uniform(0.01, 0.04, 4) * (w, h, w, h)
        return int(x0 + inset[0]), int(y0 + inset[1]), int(x1 - inset[2]), int(y1 - inset[3])
    pad = rng.uniform(0.05, 0.15, 4) * (w, h, w, h)
    return int(x0 - pad[0]), int(y0 - pad[1]), int(x1 + pad[2]), int(y1 + pad[3])


def _desk(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    w, h = size
    return np.full((h, w), rng.uniform(40, 110), np.float32) + rng.normal(0, 6, (h, w))


def _lit(image: np.ndarray, severity: Severity, rng: np.random.Generator) -> np.ndarray:
    """Light falling off from a point off the sheet, and a soft shadow (a hand, a phone) across it."""
    h, w = image.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    lamp = rng.uniform(-0.5, 1.5, 2) * (w, h)
    distance = np.hypot(xx - lamp[0], yy - lamp[1]) / np.hypot(w, h)
    light = 1 - severity.shade * np.clip(distance, 0, 1.5) / 1.5
    a, b = rng.uniform(0.2, 0.8, 2) * w
    shadow = np.clip((xx - a - (b - a) * yy / h) / (0.05 * w), 0, 1)
    return image * light * (1 - severity.shade * 0.7 * shadow)


def _coloured(grey: np.ndarray, cast: float, rng: np.random.Generator) -> np.ndarray:
    """Lamp or daylight: each channel scaled a little differently."""
    return grey[..., None] * (1 + rng.uniform(-cast, cast, 3)).astype(np.float32)


def _shaken(image: np.ndarray, length: float, rng: np.random.Generator, cv2) -> np.ndarray:
    """Motion blur along a random direction, `length` pixels long."""
    if length < 0.5:
        return cv2.GaussianBlur(image, (0, 0), 0.6)
    size = int(np.ceil(length)) * 2 + 1
    kernel = np.zeros((size, size), np.float32)
    angle = rng.uniform(0, np.pi)
    centre = size // 2
    end = (np.cos(angle) * length / 2, np.sin(angle) * length / 2)  # the smear runs `length` end to end
    cv2.line(kernel, (round(centre - end[0]), round(centre - end[1])), (round(centre + end[0]), round(centre + end[1])), 1.0)
    return cv2.filter2D(image, -1, kernel / kernel.sum())


def _jpeg(image: np.ndarray, quality: int) -> Image.Image:
    """Stored by the phone as JPEG at `quality`: the artefacts stay in the returned image."""
    buffer = io.BytesIO()
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _pdf_of_images(images: list[Image.Image], dpi: int, quality: int | None) -> bytes:
    """Pages as a scanner stores them: JPEG at `quality`, or lossless when None."""
    out = io.BytesIO()
    options = {"quality": quality} if quality else {}
    if quality is None:
        images = [image.convert("RGB") for image in images]  # RGB pages are stored Flate, not JPEG
    images[0].save(out, "PDF", resolution=dpi, save_all=True, append_images=images[1:], **options)
    return out.getvalue()


def scan_pages(gold: dict, dpi: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [scan(to_image(sheet, dpi), dpi, rng) for sheet in lay_out(gold)]


def photo_pages(gold: dict, seed: int = 0, severity: str = "moderate") -> list[Image.Image]:
    """Each page photographed at `severity`, the sheet at a resolution drawn from its range."""
    rng, bounds = np.random.default_rng(seed), SEVERITIES[severity]
    sheets = lay_out(gold, split=bounds.split, rng=rng)
    return [photo(to_image(sheet, int(rng.integers(bounds.dpi[0], bounds.dpi[1] + 1))), rng, bounds)
            for sheet in sheets]


def _title(gold: dict) -> str:
    return f"{gold['meta']['agency']}{gold['meta']['year']}年政府信息公开工作年度报告"


def _photo(severity: str) -> Callable[[dict, int], bytes]:
    return lambda gold, seed: _pdf_of_images(photo_pages(gold, seed, severity), 150, None)


MODALITIES: dict[str, Callable[[dict, int], bytes]] = {
    "pdf": lambda gold, seed: to_pdf(lay_out(gold), _title(gold)),
    "scan200": lambda gold, seed: _pdf_of_images(scan_pages(gold, 200, seed), 200, 60),
    "scan150": lambda gold, seed: _pdf_of_images(scan_pages(gold, 150, seed), 150, 60),
    **{f"photo_{name}": _photo(name) for name in SEVERITIES},
}


def render_modality(gold: dict, modality: str, seed: int = 0) -> tuple[bytes, str]:
    """The gold report on paper in `modality`: file bytes and a file name (all four are PDFs)."""
    return MODALITIES[modality](gold, seed), f"{gold.get('id', 'report')}.{modality}.pdf"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print a gold report as a PDF, a scan or phone photos.")
    parser.add_argument("gold", type=Path, help="path to gold.json")
    parser.add_argument("--modality", choices=sorted(MODALITIES), default="scan200")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--out", type=Path, help="output file (default: the generated name)")
    parser.add_argument("--png", action="store_true", help="photo_*: also write each page as a PNG beside it")
    args = parser.parse_args(argv)
    gold = json.loads(args.gold.read_text("utf-8"))
    data, name = render_modality(gold, args.modality, args.seed)
    out = args.out or Path(name)
    out.write_bytes(data)
    if args.png and args.modality.startswith("photo_"):
        severity = args.modality.removeprefix("photo_")
        for number, image in enumerate(photo_pages(gold, args.seed, severity), start=1):
            image.save(out.with_suffix(f".{number}.png"))


if __name__ == "__main__":
    main()
