"""Ingest: bytes of any supported format → Document. Public entry point: `load`."""

from __future__ import annotations

import logging
from pathlib import PurePath

from service.document import Document
from service.ingest import html, markdown, pdf, text, word
from service.ingest.errors import IngestError

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024

LOADERS = {
    ".txt": text.load,
    ".text": text.load,
    ".html": html.load,
    ".htm": html.load,
    ".shtml": html.load,
    ".docx": word.load,
    ".md": markdown.load,
    ".markdown": markdown.load,
    ".pdf": pdf.load,
}
# Formats users will try that a later loader handles, with what to do meanwhile.
_NOT_YET = {
    ".doc": "旧版 Word（.doc）文件暂不支持，请另存为 .docx 后上传",
    ".wps": "WPS 文件暂不支持，请另存为 .docx 后上传",
}

__all__ = ["IngestError", "LOADERS", "MAX_BYTES", "load"]


def load(data: bytes, filename: str, max_bytes: int = MAX_BYTES) -> Document:
    """Parse one uploaded file. Raises IngestError with a Chinese message on bad input."""
    suffix = PurePath(filename).suffix.lower()
    if len(data) == 0:
        raise IngestError("文件为空", f"empty file {filename!r}")
    if len(data) > max_bytes:
        raise IngestError(f"文件过大（{len(data) / 1048576:.1f} MB），上限为 {max_bytes / 1048576:.0f} MB",
                          f"file {filename!r} has {len(data)} bytes, limit {max_bytes}")
    if suffix in _NOT_YET:
        raise IngestError(_NOT_YET[suffix], f"unsupported format {suffix}")
    loader = LOADERS.get(suffix) or _sniff(data)
    if loader is None:
        supported = " ".join(sorted(LOADERS))
        raise IngestError(f"不支持的文件类型“{suffix or '无扩展名'}”，支持：{supported}",
                          f"unknown extension {suffix!r} for {filename!r}")
    if loader is text.load and _looks_like_html(data):
        loader = html.load
    document = loader(data)
    log.info("ingested %s as %s: %d blocks", filename, document.source_format, len(document.blocks))
    return document


def _looks_like_html(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<table" in data[:65536].lower()


def _sniff(data: bytes):
    """Pick a loader from the content when the file name says nothing useful."""
    if data.startswith(b"PK\x03\x04"):
        return word.load
    if data.startswith(b"%PDF"):
        return pdf.load
    if _looks_like_html(data):
        return html.load
    return None
