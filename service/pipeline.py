"""The stages joined: bytes → Document → Report. The rim (CLI, API, eval) calls this."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from service.correct import correct_ocr
from service.document import Document
from service.extract import NotAReportError, extract
from service.ingest import IngestError, load
from service.report import FieldValue, Meta, Report

if TYPE_CHECKING:
    from service.llm.client import LLM

LLMFactory = Callable[[], "LLM | None"]  # returns a model client, or None when none is configured

__all__ = ["InputError", "extract_bytes", "read", "read_llm_only"]


class InputError(ValueError):
    """Anything wrong with what the user gave us; `message` is Chinese and fit to show."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message


def extract_bytes(data: bytes, filename: str, llm: LLMFactory | None = None) -> Report:
    return read(data, filename, llm)[1]


def read(data: bytes, filename: str, llm: LLMFactory | None = None,
         listener: Callable[[str], None] | None = None) -> tuple[Document, Report]:
    """The Document as well as the Report, for callers that show or verify where values came from.

    `llm` makes a model client on demand: it is called only when the rules leave a gap; `listener`
    is told, in Chinese, what the model is doing for this report ("大模型补读 3/8 …").
    """
    document = _document(data, filename)
    report = correct_ocr(_extract(document, filename))  # before the LLM sees what the identities settle
    if llm is not None:
        report = _assist(document, report, llm, listener)
        report.recount_tables()
    return document, report


def read_llm_only(data: bytes, filename: str, llm: LLMFactory, budgeted: bool = False) -> tuple[Document, Report]:
    """The peers' approach for the eval baseline: the whole text to the model in one call, measured
    whole however long it takes, or `budgeted` within the per-report budget `--llm auto` has (a cut
    answer leaves every field unread, with the trace's note saying so)."""
    from service.extract.meta import detect_template, find_year
    from service.llm import BudgetSpent, whole_report

    document = _document(data, filename)
    model = llm()
    if model is None:
        raise InputError("未配置大模型，无法使用 only 模式", "llm-only without a model")
    model = model.for_report(budgeted=budgeted)
    template = detect_template(document, find_year(None, document))
    try:
        values = whole_report(document, template.id, model)
    except BudgetSpent as exc:
        model.trace.note, values = f"大模型{exc}（每份报告上限），未读出任何字段", {}
    fields = {k: FieldValue(value=v, method="llm", confidence=0.5) for k, v in values.items() if k in template.fields}
    return document, Report(meta=Meta(template=template.id), fields=fields, llm=model.trace,
                            missing=[k for k in template.keys if k not in fields])


def _assist(document: Document, report: Report, llm: LLMFactory, listener=None) -> Report:
    from service.llm import assist, needs_llm
    from service.llm.gaps import small_model_note, small_tasks

    if not needs_llm(report):
        return report
    if getattr(llm, "capable", True) is False and not small_tasks(report):
        report.warnings.append(small_model_note(report))  # nothing the bundled model may do: not started
        return report
    model = llm()
    if model is None:
        why = getattr(llm, "why", None) or "未配置大模型"
        report.warnings.append(f"{why}，规则未能读取的内容保持空缺")
        return report
    model = model.for_report()
    if listener is not None:
        model.listener = listener
    return assist(document, report, model)[0]


def _document(data: bytes, filename: str) -> Document:
    try:
        return load(data, filename)
    except IngestError as exc:
        raise InputError(exc.message, exc.detail) from exc


def _extract(document: Document, filename: str) -> Report:
    try:
        return extract(document)
    except NotAReportError as exc:
        raise InputError(exc.message, f"{filename}: no report sections or tables found") from exc
