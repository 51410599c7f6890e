"""The stages joined: bytes → Document → Report. The rim (CLI, API, eval) calls this."""

from __future__ import annotations

from service.extract import NotAReportError, extract
from service.ingest import IngestError, load
from service.report import Report

__all__ = ["InputError", "extract_bytes"]


class InputError(ValueError):
    """Anything wrong with what the user gave us; `message` is Chinese and fit to show."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message


def extract_bytes(data: bytes, filename: str) -> Report:
    try:
        return extract(load(data, filename))
    except IngestError as exc:
        raise InputError(exc.message, exc.detail) from exc
    except NotAReportError as exc:
        raise InputError(exc.message, f"{filename}: no report sections or tables found") from exc
