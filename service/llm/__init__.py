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
    from service.llm.client import LLM, LLMUnavailable
    from service.llm.config import LLMConfig
    from service.report import Report

__all__ = ["LLM", "LLMConfig", "LLMUnavailable", "assist", "local", "needs_llm", "whole_report"]

# Every report asks `needs_llm`; the chain (with the checker), the client (langchain, openai) and the
# bundled server's helpers (httpx) load on first use, so a report the rules read whole imports none.
_LAZY = {"LLM": "service.llm.client", "LLMUnavailable": "service.llm.client", "LLMConfig": "service.llm.config",
         "whole_report": "service.llm.chain", "local": None}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module = importlib.import_module(_LAZY[name] or f"{__name__}.{name}")
    return module if _LAZY[name] is None else getattr(module, name)


def assist(document: Document, report: Report, llm: LLM, max_rounds: int = 2) -> tuple[Report, list[Finding]]:
    """Never makes a rule-read value worse: the model only fills gaps and mends unsure cells."""
    from service.check import check
    from service.llm.chain import map_rows, read_meta, read_prose, reask
    from service.llm.client import LLMUnavailable

    report.llm = llm.trace
    try:
        read_meta(document, report, llm)
        map_rows(report, llm)
        read_prose(document, report, llm)
        return report, reask(document, report, llm, max_rounds)
    except LLMUnavailable as exc:
        llm.trace.note = f"大模型服务不可用，保留规则抽取结果（{exc}）"
        return report, check(report)
