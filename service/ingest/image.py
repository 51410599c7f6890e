"""Photos and scanned images (.png .jpg .jpeg .tif .tiff .webp) → Document, by OCR.

Pillow decodes every frame (a multi-page TIFF is a multi-page scan); `service.ingest.scan`
straightens and reads each page.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from service.document import Document
from service.ingest import scan
from service.ingest.errors import IngestError

MAX_PAGES = 50  # OCR costs seconds a page; a report runs to a few dozen at most


def load(data: bytes) -> Document:
    return scan.read_pages(pages(data), "image")


def one_scan(photos: list[tuple[bytes, str]]) -> bytes:
    """Photos of one report's pages, a file each, in page order, as one multi-page TIFF (lossless),
    which `load` reads as a scan of that many pages."""
    frames = []
    for data, name in photos:
        try:
            frames += [Image.fromarray(page) for page in pages(data)]
        except IngestError as exc:
            raise IngestError(f"{name}：{exc.message}", exc.detail) from exc
    if len(frames) > MAX_PAGES:
        raise IngestError(f"照片共 {len(frames)} 页，超过 {MAX_PAGES} 页的上限，请只上传年度报告本身",
                          f"{len(frames)} frames")
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:], compression="tiff_deflate")
    return out.getvalue()


def pages(data: bytes) -> list[np.ndarray]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            frames = [_grey(frame) for frame in _frames(image)]
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise IngestError("图片文件已损坏、过大或格式无法识别", f"Pillow: {exc!r}") from exc
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or malformed image data
        raise IngestError("图片文件已损坏或无法读取", f"Pillow: {exc!r}") from exc
    return frames


def _frames(image: Image.Image) -> list[Image.Image]:
    count = getattr(image, "n_frames", 1)
    if count > MAX_PAGES:
        raise IngestError(f"图片共 {count} 页，超过 {MAX_PAGES} 页的上限，请只上传年度报告本身",
                          f"{count} frames")
    return [frame.copy() for frame in ImageSequence.Iterator(image)]


def _grey(frame: Image.Image) -> np.ndarray:
    """Upright as the camera's EXIF says, transparency on white, then grey."""
    frame = ImageOps.exif_transpose(frame)
    if frame.mode in ("RGBA", "LA", "P"):
        frame = frame.convert("RGBA")
        white = Image.new("RGBA", frame.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(white, frame)
    return np.asarray(frame.convert("L"))
