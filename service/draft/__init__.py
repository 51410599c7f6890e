"""Draft section 五 (存在的主要问题及改进情况). Public entry point: `draft`.

figures → facts (with ids) → the agency's own earlier section 五 and similar agencies' (store) →
draft → checks (numbers grounded, no copying of last year, structure, length) → Draft.
The report's own section 五 is never read: it is removed before anything else happens.
Without a model the draft is assembled from the facts (`fallback`) and labelled as such.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from service.check import Finding
from service.draft import fallback, writer
from service.draft.checks import (MAX_OVERLAP, DraftCheck, check_length, check_numbers, check_overlap,
                                  check_structure, cited_ids, drop_ungrounded, overlap)
from service.draft.facts import Fact, NoFiguresError, collect, grounded_numbers
from service.draft.retrieve import PROBLEMS, Example, Examples, own_history, similar_agencies
from service.report import Report

if TYPE_CHECKING:
    from service.llm import LLM
    from service.store import Store

__all__ = ["Draft", "Fact", "NoFiguresError", "draft", "hide_own_section"]


class DraftFinding(BaseModel):
    id: str
    kind: str
    numbers: list[int | float]
    text: str
    problem: bool


class Citation(BaseModel):
    id: str
    kind: str  # "finding", or for passages "own" (the agency's earlier report) / "similar"
    text: str
    agency: str | None = None
    year: int | None = None
    report_id: str | None = None


class Draft(BaseModel):
    draft: str
    method: Literal["llm", "fallback"]
    label: str
    findings: list[DraftFinding]  # the facts the draft was written from
    citations: list[Citation]  # every id the draft cites
    examples: list[Citation]  # past section 五 passages retrieved for it
    checks: list[DraftCheck]
    flags: list[str]  # e.g. "内容雷同" when no wording got under the overlap limit


def hide_own_section(report: Report) -> Report:
    return report.model_copy(update={"sections": {k: v for k, v in report.sections.items() if k != PROBLEMS}})


def draft(report: Report, previous: Report | None = None, findings: list[Finding] = (), *,
          history: list[Report] = (), store: Store | None = None, llm: LLM | None = None) -> Draft:
    """`previous` is last year's report (year-on-year facts); `history` the agency's older ones;
    without `llm`, or when the model's draft fails its checks, the offline draft.

    Raises NoFiguresError for a report without a single figure.
    """
    report = hide_own_section(report)
    earlier = [r for r in (previous, *history) if r is not None]
    examples = own_history(report, earlier, store)
    facts = collect(report, previous or examples.previous, findings)
    if store is not None:
        examples.similar = similar_agencies(report, facts, store, first_id=len(examples.own) + 1)
    text, checks, method, label = None, [], "fallback", f"{fallback.LABEL}（未使用大模型）"
    if llm is not None:
        text, checks, failure = _write_llm(llm, report, facts, examples)
        method, label = ("llm", writer.LABEL) if text else (method, f"{fallback.LABEL}（{failure}）")
    if not text:
        text, checks = _write_fallback(facts, examples)
    return Draft(draft=text, method=method, label=label,
                 findings=[DraftFinding(id=f.id, kind=f.kind, numbers=list(f.numbers.values()), text=f.text,
                                        problem=f.problem) for f in facts],
                 citations=_citations(text, facts, examples), examples=[_citation(e) for e in examples.all()],
                 checks=checks, flags=[c.flag for c in checks if c.flag])


def _write_llm(llm: LLM, report: Report, facts: list[Fact], examples: Examples) -> tuple[str | None, list, str]:
    """The model's draft and its checks, or None and why the offline draft is used instead."""
    from service.llm import LLMUnavailable

    try:
        written = writer.write(llm, report, facts, examples)
    except LLMUnavailable as exc:
        return None, [], f"大模型服务不可用：{str(exc)[:80]}"
    if written is None:
        return None, [], "大模型未给出有效草稿"
    text, attempts = written
    text, checks = _checked(text, facts, examples.own_texts(), attempts)
    failed = [c.message for c in checks if not c.passed and c.name in ("structure", "length")]
    return (None, [], f"大模型草稿未通过检查：{'；'.join(failed)}") if failed else (text, checks, "")


def _write_fallback(facts: list[Fact], examples: Examples) -> tuple[str, list[DraftCheck]]:
    """The first wording whose overlap with the agency's earlier texts is in bounds, else the least similar."""
    earlier = examples.own_texts()
    best, best_overlap, attempts = "", 2.0, 0
    for variant in range(fallback.VARIANTS):
        attempts += 1
        text = fallback.compose(facts, variant)
        worst = max((overlap(text, t) for t in earlier.values()), default=0.0)
        if worst < best_overlap:
            best, best_overlap = text, worst
        if worst <= MAX_OVERLAP:
            break
    return _checked(best, facts, earlier, attempts)


def _checked(text: str, facts: list[Fact], earlier: dict[str, str], attempts: int) -> tuple[str, list[DraftCheck]]:
    allowed = grounded_numbers(facts)
    if not check_numbers(text, allowed).passed:
        text = drop_ungrounded(text, allowed)  # a sentence with an unknown number is dropped, never kept
    return text, [check_numbers(text, allowed), check_overlap(text, earlier, attempts),
                  check_structure(text), check_length(text)]


def _citation(example: Example) -> Citation:
    return Citation(id=example.id, kind=example.kind, text=example.text, agency=example.agency,
                    year=example.year, report_id=example.report_id)


def _citations(text: str, facts: list[Fact], examples: Examples) -> list[Citation]:
    ids = cited_ids(text)
    return [Citation(id=f.id, kind="finding", text=f.text) for f in facts if f.id in ids] + \
        [_citation(e) for e in examples.all() if e.id in ids]
