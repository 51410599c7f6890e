"""The stages joined: bytes → Document → Report. The rim (CLI, API, eval) calls this."""

from __future__ import annotations

from service.correct import correct_ocr
from service.document import Document
from service.extract import NotAReportError, extract
from service.ingest import IngestError, load
from service.report import Report

__all__ = ["InputError", "extract_bytes", "read"]


class InputError(ValueError):
    """Anything wrong with what the user gave us; `message` is Chinese and fit to show."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message


def extract_bytes(data: bytes, filename: str) -> Report:
    return read(data, filename)[1]


def read(data: bytes, filename: str) -> tuple[Document, Report]:
    """The Document as well as the Report, for callers that show or verify where values came from."""
    try:
        document = load(data, filename)
        return document, correct_ocr(extract(document))  # before anything downstream sees the OCR slips
    except IngestError as exc:
        raise InputError(exc.message, exc.detail) from exc
    except NotAReportError as exc:
        raise InputError(exc.message, f"{filename}: no report sections or tables found") from exc
