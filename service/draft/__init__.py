"""Draft section 五 (存在的主要问题及改进情况). Public entry point: `draft`.

figures → facts (with ids) → the agency's own earlier section 五 and similar agencies' (store) →
draft → checks (numbers grounded, no copying of last year, structure, length) → Draft.
The report's own section 五 is never read: it is removed before anything else happens.
Without a model the draft is assembled from the facts (`fallback`) and labelled as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from service.check import Finding
from service.draft import catalogue, fallback, writer
from service.draft.checks import (
    MAX_OVERLAP,
    SENTENCE,
    DraftCheck,
    check_length,
    check_numbers,
    check_overlap,
    check_structure,
    cited_ids,
    drop_ungrounded,
    overlap,
    plain,
)
from service.draft.facts import Fact, NoFiguresError, collect, grounded_numbers
from service.draft.figures import Figures, stale_figures, used_figures
from service.draft.retrieve import PROBLEMS, Example, Examples, own_history, similar_agencies
from service.report import Report

if TYPE_CHECKING:
    from service.llm import LLM
    from service.store import Store

__all__ = ["Draft", "Fact", "NoFiguresError", "draft", "hide_own_section", "stale_figures"]


class DraftFinding(BaseModel):
    id: str
    kind: str
    numbers: list[int | float]
    text: str
    problem: bool
    keys: list[str] = []  # the report fields it reads
    summed: list[str] = []  # of those, blank totals recomputed from their printed parts


class Citation(BaseModel):
    id: str
    kind: str  # "finding", or for passages "own" (the agency's earlier report) / "similar"
    text: str
    agency: str | None = None
    year: int | None = None
    report_id: str | None = None


class UsedFigure(BaseModel):
    key: str
    value: int | float | None  # None: printed blank
    how: Literal["printed", "summed", "blank"]  # summed: a blank total recomputed from `parts`
    parts: list[str] = []


class Problem(BaseModel):
    topic: str  # catalogue topic id
    name: str  # the topic in Chinese
    pattern: str | None  # the catalogue pattern its figures matched
    basis: Literal["figures", "earlier_report", "common"]  # common: no figure evidences it, check it
    cites: list[str] = []


class DraftSentence(BaseModel):
    text: str  # without citation marks
    cites: list[str] = []


class Draft(BaseModel):
    draft: str
    text: str = ""  # the draft as a reader sees it: no citation marks
    sentences: list[DraftSentence] = []  # the text sentence by sentence with the ids each cites
    method: Literal["llm", "fallback"]
    label: str
    findings: list[DraftFinding]  # the facts the draft was written from
    citations: list[Citation]  # every id the draft cites
    examples: list[Citation]  # past section 五 passages retrieved for it
    checks: list[DraftCheck]
    flags: list[str]  # e.g. "内容雷同" when no wording got under the overlap limit
    figures: list[UsedFigure] = []  # the report's figures the facts read, for the stale check
    problems: list[Problem] = []  # what the offline plan states, and on what basis
    llm_checks: list[DraftCheck] = []  # the model's draft's checks when it was not used
    stale: bool | None = False  # set by whoever holds the draft: the report's figures changed since (None: unknown)
    stale_keys: list[str] = []
    notes: list[str] = []  # e.g. the vector store was not there to search


def hide_own_section(report: Report) -> Report:
    return report.model_copy(update={"sections": {k: v for k, v in report.sections.items() if k != PROBLEMS}})


def draft(report: Report, previous: Report | None = None, findings: Sequence[Finding] = (), *,
          history: Sequence[Report] = (), store: Store | None = None, llm: LLM | None = None,
          no_llm: str | None = None) -> Draft:
    """`previous` is last year's report (year-on-year facts); `history` the agency's older ones;
    without `llm` (`no_llm` says why, in Chinese), or when the model's draft fails its checks, the
    offline draft; its label says which draft it is and why the model's was not used.

    Raises NoFiguresError for a report without a single figure.
    """
    report = hide_own_section(report)
    earlier = [r for r in (previous, *history) if r is not None]
    examples = own_history(report, earlier, store)
    figures = Figures(report)
    facts = collect(report, previous or examples.previous, findings, figures)
    agency = report.meta.agency or ""
    planned = fallback.plan(facts, agency, [(e.id, e.text) for e in examples.own], report.meta.year)
    for item in planned:
        if item.fact is not None:
            item.fact.problem, item.fact.topic = True, catalogue.TOPICS[item.topic].name
    if store is not None:
        examples.similar = similar_agencies(report, facts, store, first_id=len(examples.own) + 1)
    checks: list[DraftCheck]
    llm_checks: list[DraftCheck]
    unused = f"未使用大模型：{no_llm}" if no_llm else "未使用大模型"
    text, checks, method, label, llm_checks = None, [], "fallback", f"{fallback.LABEL}（{unused}）", []
    if llm is not None:
        text, checks, failure = _write_llm(llm, report, facts, examples)
        if text:
            method, label = "llm", writer.LABEL
        else:
            label, llm_checks, checks = f"{fallback.LABEL}（{failure}）", checks, []
    if not text:
        text, checks = _write_fallback(facts, examples, agency, planned, report.meta.year)
    return Draft(draft=text, text=plain(text), sentences=sentences(text), method=method, label=label,
                 findings=[DraftFinding(id=f.id, kind=f.kind, numbers=list(f.numbers.values()), text=f.text,
                                        problem=f.problem, keys=f.keys, summed=f.summed) for f in facts],
                 citations=_citations(text, facts, examples), examples=[_citation(e) for e in examples.all()],
                 checks=checks, flags=[c.flag for c in checks if c.flag], figures=used_figures(figures),
                 problems=[Problem(topic=p.topic, name=catalogue.TOPICS[p.topic].name, pattern=p.pattern, basis=p.basis,
                                   cites=[p.cite] if p.cite else []) for p in planned] if method == "fallback" else [],
                 llm_checks=llm_checks)


def sentences(text: str) -> list[DraftSentence]:
    """The draft's sentences in order, each without its marks and with the ids it cites."""
    out = []
    for line in text.splitlines():
        for piece in SENTENCE.findall(line):
            words = plain(piece).strip()
            if words:
                out.append(DraftSentence(text=words, cites=sorted(cited_ids(piece), key=lambda i: (i[0], int(i[1:])))))
    return out


def _write_llm(llm: LLM, report: Report, facts: list[Fact], examples: Examples) -> tuple[str | None, list, str]:
    """The model's draft and its checks, or None and why the offline draft is used instead."""
    from service.llm import BudgetSpent, LLMUnavailable

    try:
        written = writer.write(llm, report, facts, examples)
    except BudgetSpent as exc:
        return None, [], f"大模型起草{exc}（上限 {llm.budget.seconds:g} 秒、{llm.budget.calls} 次），未写出草稿"
    except LLMUnavailable as exc:
        return None, [], f"大模型服务不可用：{str(exc)[:80]}"
    if written is None:
        return None, [], "大模型未给出有效草稿：回答为空或不是所要求的 JSON 格式"
    text, attempts, dropped = written
    text, checks = _checked(text, facts, examples.own_texts(), attempts)
    if dropped:
        checks[0] = checks[0].model_copy(update={"message": f"{checks[0].message}（已删去 {dropped} 句含有本年数据以外数字的句子）"})
    failed = [c for c in checks if not c.passed and c.name in ("structure", "length")]
    if failed:
        return None, checks, "大模型草稿未通过检查：" + "；".join(f"{_CHECK_NAMES[c.name]}——{c.message}" for c in failed)
    return text, checks, ""


_CHECK_NAMES = {"numbers_grounded": "数字核对", "overlap_previous": "防雷同", "structure": "结构", "length": "长度"}


def _write_fallback(facts: list[Fact], examples: Examples, agency: str, planned: list[fallback.Planned],
                    year: int | None) -> tuple[str, list[DraftCheck]]:
    """The first wording whose overlap with the agency's earlier texts is in bounds, else the least similar."""
    earlier = examples.own_texts()
    best, best_overlap, attempts = "", 2.0, 0
    for variant in range(fallback.VARIANTS):
        attempts += 1
        text = fallback.compose(facts, variant, agency, planned=planned, year=year)
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
