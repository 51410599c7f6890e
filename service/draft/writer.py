"""The model's draft: facts and past section 五 texts go to the LLM (prompts/draft_section5.md); its
sentences come back with the ids they cite. A sentence stating a number no fact holds is dropped
here; a draft reading too much like the agency's earlier text is asked for again with that said.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from service.draft.checks import HEADINGS, MAX_OVERLAP, overlap, ungrounded
from service.draft.facts import Fact, grounded_numbers
from service.draft.retrieve import Examples
from service.report import Report

if TYPE_CHECKING:
    from service.llm import LLM

LABEL = "大模型草稿：依据本年数据和往年报告生成，数字已逐一核对，请修改后使用"
_ATTEMPTS = 3  # the first draft and up to two rewordings when it copies the agency's earlier text
_EXAMPLE_CHARS = 400  # of each past text sent: enough to show the manner, short enough for small models
_MARKS = re.compile(r"\[[^\]]*\]|^\s*(?:\d+[.、．]|[（(][一二三四五六七八九十\d]+[）)])\s*")


class Sentence(BaseModel):
    text: str
    cites: list[str] = Field(default_factory=list)


class Answer(BaseModel):
    problems: list[Sentence] = Field(default_factory=list)
    improvements: list[Sentence] = Field(default_factory=list)


def _items(sentences: list[Sentence], known: set[str], allowed: set[float], dropped: list[str] | None = None) -> list[str]:
    """Numbered lines; the model's own numbering and citation marks give way to the checked `cites`.
    A sentence stating a number no fact holds is left out (and added to `dropped`)."""
    out: list[str] = []
    for sentence in sentences:
        text = _MARKS.sub("", sentence.text.strip()).rstrip("。；;.， ")
        if text and ungrounded(text, allowed) and dropped is not None:
            dropped.append(text)
        if not text or ungrounded(text, allowed):
            continue
        cites = [c for c in dict.fromkeys(sentence.cites) if c in known]
        out.append(f"{len(out) + 1}. {text}" + (f"[{','.join(cites)}]" if cites else "") + "。")
    return out


def compose(answer: Answer, known: set[str], allowed: set[float], dropped: list[str] | None = None) -> str:
    return "\n".join([HEADINGS[0], *_items(answer.problems, known, allowed, dropped),
                      HEADINGS[1], *_items(answer.improvements, known, allowed, dropped)])


def _variables(report: Report, facts: list[Fact], examples: Examples, feedback: str) -> dict[str, str]:
    def listing(items, empty: str) -> str:
        return "\n".join(f"{e.id}（{e.year or ''}年 {e.agency}）：{e.text[:_EXAMPLE_CHARS]}" for e in items) or empty

    return {"agency": report.meta.agency or "本机关", "year": str(report.meta.year or "本"),
            "facts": "\n".join(f"{f.id}{f'（问题：{f.topic}）' if f.problem else ''}：{f.text}" for f in facts),
            "own": listing(examples.own, "（无）"), "similar": listing(examples.similar, "（无）"), "feedback": feedback}


def write(llm: LLM, report: Report, facts: list[Fact], examples: Examples) -> tuple[str, int, int] | None:
    """The least copying of up to three drafts, how many were asked for and how many of its sentences were
    dropped for an ungrounded number; None if the model gave none.

    Raises the client's LLMUnavailable when the endpoint cannot be reached.
    """
    prompt = llm.prompt("draft_section5")
    known = {f.id for f in facts} | {e.id for e in examples.all()}
    allowed = grounded_numbers(facts)
    earlier = examples.own_texts()
    best: tuple[str, float, int, int] | None = None
    feedback = ""
    for attempt in range(1, _ATTEMPTS + 1):
        answer = llm.ask(prompt, _variables(report, facts, examples, feedback), Answer)
        if answer is None:
            break
        dropped: list[str] = []
        text = compose(answer, known, allowed, dropped)
        worst = max((overlap(text, t) for t in earlier.values()), default=0.0)
        if best is None or worst < best[1]:
            best = (text, worst, attempt, len(dropped))
        if worst <= MAX_OVERLAP:
            break
        feedback = (f"\n上一稿与本机关往年第五部分的 8 字重合率为 {worst:.0%}，超过 30%（内容雷同）。"
                    "请换用不同的表述重写，不要沿用往年的句子。\n")
    return (best[0], best[2], best[3]) if best else None
