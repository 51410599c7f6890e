"""The LLM chain: fills what the rules could not, grounded, and asks again when checks fail.

Public entry points: `assist` (rules' report in, improved report and findings out), `whole_report`
(the peers' one-call baseline), `LLM`/`LLMConfig` (the provider boundary) and `local` (the bundled
model server). Only service/llm/client.py imports langchain or openai.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.llm.gaps import needs_llm

if TYPE_CHECKING:
    from service.check import Finding
    from service.document import Document
    from service.llm import local
    from service.llm.chain import whole_report
    from service.llm.client import LLM, BudgetSpent, LLMUnavailable
    from service.llm.config import LLMConfig
    from service.report import Report

__all__ = ["LLM", "BudgetSpent", "LLMConfig", "LLMUnavailable", "assist", "local", "needs_llm", "whole_report"]

# Every report asks `needs_llm`; the chain (with the checker), the client (langchain, openai) and the
# bundled server's helpers (httpx) load on first use, so a report the rules read whole imports none.
_LAZY = {"LLM": "service.llm.client", "LLMUnavailable": "service.llm.client", "BudgetSpent": "service.llm.client", "LLMConfig": "service.llm.config",
         "whole_report": "service.llm.chain", "local": None}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module = importlib.import_module(_LAZY[name] or f"{__name__}.{name}")
    return module if _LAZY[name] is None else getattr(module, name)


def assist(document: Document, report: Report, llm: LLM, max_rounds: int = 2) -> tuple[Report, list[Finding]]:
    """Never makes a rule-read value worse: the model only fills gaps and mends unsure cells, within
    the report's budget (`llm.budget`), and is asked only what it can answer (`llm.config.capable`)."""
    from service.check import check
    from service.llm.chain import map_rows, prose_chunks, read_meta, read_prose, reask
    from service.llm.client import BudgetSpent, LLMUnavailable
    from service.llm.gaps import (
        describe,
        mappable_rows,
        missing_meta,
        prose_tables,
        small_model_note,
    )

    report.llm = llm.trace
    capable = llm.config.capable
    tables = prose_tables(report)
    notes = []
    if tables and not capable:
        notes.append(small_model_note(report))
    llm.planned = (bool(missing_meta(report)) + len(mappable_rows(report))
                   + (len(prose_chunks(document, report)) if capable else 0))
    try:
        read_meta(document, report, llm)
        map_rows(report, llm)
        if capable:
            read_prose(document, report, llm)
            findings = reask(document, report, llm, max_rounds)
        else:
            findings = check(report)
    except BudgetSpent as exc:
        left = describe(report, tables if capable else [])
        notes.append(f"大模型补读{exc}（每份报告上限 {llm.budget.seconds:g} 秒、{llm.budget.calls} 次），"
                     f"保留规则结果" + (f"；未读：{left}" if left else ""))
        findings = check(report)
    except LLMUnavailable as exc:
        llm.trace.unavailable = True
        notes.append(f"大模型服务不可用，保留规则抽取结果（{exc}）")
        findings = check(report)
    llm.trace.note = "；".join(notes) or None
    return report, findings
