"""Gold reports printed on paper: a digital PDF, scanned PDFs and phone photos of the pages.

The page model of eval/render.py is laid out once on A4 sheets (text lines and ruling lines in
points, tables as the national template merges them), then drawn two ways: as a PDF with a text
layer (fpdf2) and as page images (Pillow) that are degraded as a scanner or a phone camera would.

Modalities (`MODALITIES`), every random choice drawn from the seed:
- "pdf"      printed from a word processor: text layer, ruling lines, nothing to OCR;
- "scan200"  scanned at 200 dpi: rotated by up to 1.5°, blurred, speckled, stored as JPEG quality 60;
- "scan150"  the same at 150 dpi;
- "photo"    each page photographed with a phone: on a desk, in perspective, under uneven light
             with a shadow across it; stored as PNG images (`photo_pages`), gathered into one
             PDF of lossless pages for the eval suite, which reads one file per report.

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
    """Flows blocks down A4 sheets; a table row that does not fit starts a new sheet."""

    def __init__(self) -> None:
        self.sheets: list[Sheet] = []
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
        for height in heights:
            if self.y + height > PAGE_H - MARGIN_BOTTOM:
                self._new_sheet()
            placed.append((len(self.sheets) - 1, self.y))
            self.y += height
        for r, row in enumerate(grid.rows):
            for cell, cell_lines in zip(row, lines[r]):
                self._cell(cell, cell_lines, r, xs, heights, placed, size)
        self.y += size

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


def lay_out(gold: dict, style: render.Style = render.Style()) -> list[Sheet]:
    layout = _Layout()
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
    image = page.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=255)
    image = image.filter(ImageFilter.GaussianBlur(radius=0.45 * dpi / 150))
    pixels = np.asarray(image, dtype=np.float32) * 0.92 + 10  # ink is never black, paper never white
    pixels += rng.normal(0, 4, pixels.shape)
    specks = rng.random(pixels.shape) < 0.0004
    pixels[specks] = rng.uniform(0, 120, int(specks.sum()))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def photo(page: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The page lying on a desk, shot from above at an angle: perspective, uneven light, a shadow."""
    import cv2  # opencv-python-headless, a dependency of the OCR loader

    w, h = page.size
    canvas_w, canvas_h = int(w * 1.25), int(h * 1.2)
    jitter = lambda scale: rng.uniform(-scale, scale, 2) * (w, h)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    centre = np.float32([(canvas_w - w) / 2, (canvas_h - h) / 2])
    dst = np.float32([src[i] + centre + jitter(0.04) for i in range(4)])
    desk = np.full((canvas_h, canvas_w), 70, np.float32) + rng.normal(0, 6, (canvas_h, canvas_w))
    matrix = cv2.getPerspectiveTransform(src, dst)
    paper = cv2.warpPerspective(np.asarray(page, np.float32), matrix, (canvas_w, canvas_h), flags=cv2.INTER_CUBIC)
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, (canvas_w, canvas_h))
    image = desk * (1 - mask) + paper * mask
    yy, xx = np.mgrid[0:canvas_h, 0:canvas_w].astype(np.float32)
    light = 0.75 + 0.25 * (xx / canvas_w * rng.uniform(0.5, 1) + yy / canvas_h * rng.uniform(0, 0.5))
    a, b = rng.uniform(0.2, 0.8, 2) * canvas_w  # a shadow (a hand, a phone) across one corner
    shadow = np.clip((xx - a - (b - a) * yy / canvas_h) / (0.03 * canvas_w), 0, 1)
    image *= light * (1 - 0.3 * shadow)
    image = cv2.GaussianBlur(image, (0, 0), 0.8) + rng.normal(0, 3, image.shape)
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))


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


def photo_pages(gold: dict, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [photo(to_image(sheet, 170), rng) for sheet in lay_out(gold)]


def _title(gold: dict) -> str:
    return f"{gold['meta']['agency']}{gold['meta']['year']}年政府信息公开工作年度报告"


MODALITIES = {
    "pdf": lambda gold, seed: to_pdf(lay_out(gold), _title(gold)),
    "scan200": lambda gold, seed: _pdf_of_images(scan_pages(gold, 200, seed), 200, 60),
    "scan150": lambda gold, seed: _pdf_of_images(scan_pages(gold, 150, seed), 150, 60),
    "photo": lambda gold, seed: _pdf_of_images(photo_pages(gold, seed), 170, None),
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
    parser.add_argument("--png", action="store_true", help="photo: also write each page as a PNG beside it")
    args = parser.parse_args(argv)
    gold = json.loads(args.gold.read_text("utf-8"))
    data, name = render_modality(gold, args.modality, args.seed)
    out = args.out or Path(name)
    out.write_bytes(data)
    if args.png and args.modality == "photo":
        for number, image in enumerate(photo_pages(gold, args.seed), start=1):
            image.save(out.with_suffix(f".{number}.png"))


if __name__ == "__main__":
    main()
