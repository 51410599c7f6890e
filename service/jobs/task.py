"""The job-running step: one file's bytes → its outcome.

The embedded worker, Celery workers and `nianbao batch` all run exactly this, so a report reads the
same whichever way it was queued. The outcome is a JSON-ready dict, because it travels through Redis
and into JSONL as it is.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from service import pipeline
from service.check import check
from service.ingest import format_of

Progress = Callable[[str, int], None]  # (stage, percent): extract, check, or what the model is doing
OUTAGE = "大模型服务不可用，稍后自动重做"

__all__ = ["LLMOutage", "OUTAGE", "Progress", "process"]


class LLMOutage(RuntimeError):
    """The configured model could not be reached while a report needed it: the report is done again
    later (a retry on Celery, a later attempt in the embedded worker), never recorded as finished.
    `message` is Chinese and fit to show."""

    def __init__(self, detail: str | None) -> None:
        super().__init__(detail or OUTAGE)
        self.message = OUTAGE


def process(data: bytes, filename: str, llm: pipeline.LLMFactory | None = None,
            progress: Progress | None = None) -> dict:
    """Read, extract and check one file.

    A file that is no report is an outcome too (`status: failed` with a Chinese `error`), never an
    exception: it is recorded and not retried. Exceptions are bugs or outages, which callers retry
    or report as internal errors; an unreachable model is `LLMOutage`, to be retried.
    """
    started = time.perf_counter()
    report_progress = progress or (lambda _stage, _percent: None)
    report_progress("extract", 40)
    name = Path(filename).stem + format_of(data, filename)  # sniffed: a .doc that is really HTML reads as HTML
    try:
        document, report = pipeline.read(data, name, llm, lambda what: report_progress(what[:32], 60))
    except pipeline.InputError as exc:
        return {"status": "failed", "error": exc.message, "seconds": _since(started)}
    if report.llm is not None and report.llm.unavailable:
        raise LLMOutage(report.llm.note)
    report_progress("check", 80)
    # Checked without last year's report: the service checks again with it (cross-year rules) when it
    # records the outcome; a batch has no store of earlier years.
    findings = [f.model_dump(mode="json") for f in check(report)]
    return {"status": "done", "error": None, "report": report.model_dump(mode="json"),
            "document_text": document.text, "findings": findings, "seconds": _since(started)}


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)
