"""Ingest: bytes of any supported format → Document. Public entry point: `load`."""

from __future__ import annotations

import importlib
import io
import logging
import zipfile
from pathlib import PurePath
from typing import Callable

from service.document import Document
from service.ingest.errors import DAMAGED_ZIP, IngestError

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024


def _loader(module: str) -> Callable[[bytes], Document]:
    """`service.ingest.<module>.load`, imported on first use: a text or HTML report never loads the
    PDF, Word or OCR stack (pdfplumber, docx, cv2, numpy, onnxruntime)."""

    def load(data: bytes) -> Document:
        return importlib.import_module(f"{__name__}.{module}").load(data)

    load.__qualname__ = load.__name__ = f"{module}.load"
    return load


# Photos and scanned pages, read by OCR (service/ingest/image.py).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")

LOADERS = {
    ".txt": _loader("text"),
    ".text": _loader("text"),
    ".html": _loader("html"),
    ".htm": _loader("html"),
    ".shtml": _loader("html"),
    ".docx": _loader("word"),
    ".md": _loader("markdown"),
    ".markdown": _loader("markdown"),
    ".pdf": _loader("pdf"),
    **dict.fromkeys(IMAGE_SUFFIXES, _loader("image")),
}
# Formats users will try that a later loader handles, with what to do meanwhile.
_NOT_YET = {
    ".doc": "旧版 Word（.doc）文件暂不支持，请另存为 .docx 后上传",
    ".wps": "WPS 文件暂不支持，请另存为 .docx 后上传",
    ".zip": "压缩包请通过网页或 /api/reports 上传，会逐个处理其中的文件",
}

__all__ = ["IMAGE_SUFFIXES", "IngestError", "LOADERS", "MAX_BYTES", "format_of", "load"]


def load(data: bytes, filename: str, max_bytes: int = MAX_BYTES) -> Document:
    """Parse one uploaded file. Raises IngestError with a Chinese message on bad input."""
    if len(data) == 0:
        raise IngestError("文件为空", f"empty file {filename!r}")
    if len(data) > max_bytes:
        raise IngestError(f"文件过大（{len(data) / 1048576:.1f} MB），上限为 {max_bytes / 1048576:.0f} MB",
                          f"file {filename!r} has {len(data)} bytes, limit {max_bytes}")
    suffix = format_of(data, filename)
    if suffix in _NOT_YET:
        raise IngestError(_NOT_YET[suffix], f"unsupported format {suffix}")
    loader = LOADERS.get(suffix)
    if loader is None:
        supported = " ".join(sorted(LOADERS))
        raise IngestError(f"不支持的文件类型“{suffix or '无扩展名'}”，支持：{supported}",
                          f"unsupported type {suffix!r} for {filename!r}")
    document = loader(data)
    log.info("ingested %s as %s: %d blocks", filename, document.source_format, len(document.blocks))
    return document


def format_of(data: bytes, filename: str) -> str:
    """The format the content really has, as a suffix: magic bytes first, the file name only for text."""
    suffix = PurePath(filename).suffix.lower()
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind if kind != ".zip" else (".docx" if _is_docx(data) else ".zip")
    if suffix in _BINARY and not data.lstrip()[:1] == b"<":
        return suffix  # its loader says the file is damaged
    if suffix in _TEXT and _looks_like_html(data):
        return ".html"
    return suffix


_MAGIC = ((b"%PDF", ".pdf"), (b"PK\x03\x04", ".zip"), (b"\xd0\xcf\x11\xe0", ".doc"))
_BINARY = {".pdf", ".docx", ".doc", ".wps"}
_TEXT = {".txt", ".text", ".html", ".htm", ".shtml", ""}


def _is_docx(data: bytes) -> bool:
    try:
        return "word/document.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    except DAMAGED_ZIP:
        return True  # a damaged Word file: the Word loader says so


def _looks_like_html(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<table" in data[:65536].lower()
