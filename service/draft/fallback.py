"""The offline draft: section 五 written from the catalogue (`catalogue.py`) without a model, labelled as such.

`plan` picks the problems: first those this year's figures evidence (each citing its fact; in the
catalogue's order, which is its priority), then what
the agency's own earlier section 五 named (citing that text), up to four in all, then, only to reach two, common ones
no figure can evidence (marked so in the plan). Every problem gets one improvement that answers it.
Wordings are chosen by the agency and year, so two bodies with the same figures get different text (and
one body other words next year), and
by `variant`, so a draft reading too much like the agency's earlier text can be written again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from service.agency import parse_agency
from service.draft.catalogue import PATTERNS, STANDING, TOPICS, problems_part, topics_in
from service.draft.checks import HEADINGS
from service.draft.facts import Fact

LABEL = "离线草稿：依据本年数据和问题目录自动拼写，请修改后使用"
VARIANTS = 3  # wordings per phrase
MAX_PROBLEMS = 4
MIN_PROBLEMS = 2
_ORDINALS = "一二三四五六七八九十"


@dataclass(frozen=True)
class Planned:
    topic: str  # a catalogue topic id
    pattern: str | None  # the catalogue pattern, when figures evidence it
    fact: Fact | None  # the evidencing fact
    basis: str  # "figures" | "earlier_report" | "common"
    cite: str | None = None  # the fact or passage id cited


def voice(agency: str, year: int | None = None) -> str:
    """Whose wordings: one per agency and year (淮安市洪泽区人民政府 and 洪泽区人民政府 are one agency; its next
    year's report gets other wordings). By the stem, as a name alone cannot say whether a short name is
    another body's: homonyms in two cities share wordings only when their year and figures agree too."""
    return f"{parse_agency(agency).stem if agency else ''}|{year or ''}"


def _seed(who: str, *parts: str) -> int:
    return int(hashlib.sha1("|".join((who, *parts)).encode()).hexdigest()[:8], 16)


def _pick(options: tuple[str, ...], who: str, key: str, variant: int) -> str:
    return options[(_seed(who, key) + variant) % len(options)]


def plan(facts: list[Fact], agency: str = "", earlier: Sequence[tuple[str, str]] = (),
         year: int | None = None) -> list[Planned]:
    """The problems a draft states. `earlier`: the agency's own earlier section 五 texts as (id, text), newest first."""
    who = voice(agency, year)
    by_kind: dict[str, Fact] = {}
    for fact in facts:
        by_kind.setdefault(fact.kind, fact)
    by_id = {f.id: f for f in facts}
    chosen: list[Planned] = []
    room = MAX_PROBLEMS - (1 if earlier else 0)  # a place kept for what the agency's own earlier text named
    for pattern in PATTERNS:
        if len(chosen) >= room or any(p.topic == pattern.topic for p in chosen):
            continue
        found = pattern.when({**by_kind, **by_id})
        if found is not None:
            chosen.append(Planned(pattern.topic, pattern.id, found, "figures", found.id))
    if earlier and len(chosen) < MAX_PROBLEMS:
        passage_id, text = earlier[0]
        named = [t for t in TOPICS if t in topics_in(problems_part(text)) and all(p.topic != t for p in chosen)]
        for topic in sorted(named, key=lambda t: _seed(who, t))[:MAX_PROBLEMS - len(chosen)]:
            chosen.append(Planned(topic, None, None, "earlier_report", passage_id))
    for topic in sorted(STANDING, key=lambda t: _seed(who, "standing", t)):
        if len(chosen) >= MIN_PROBLEMS:
            break
        if all(p.topic != topic for p in chosen):
            chosen.append(Planned(topic, None, None, "common"))
    return chosen


def _we(agency: str) -> str:
    if agency.endswith("人民政府"):  # 沭阳县人民政府 → 我县, 洪泽区人民政府 → 我区
        agency = agency[:-4]
    for ending, we in (("街道办事处", "我街道"), ("办事处", "我处"), ("办公厅", "我厅"), ("办公室", "我办"),
                       ("局", "我局"), ("委员会", "我委"), ("委", "我委"), ("区", "我区"), ("县", "我县"), ("镇", "我镇"),
                       ("乡", "我乡"), ("市", "我市"), ("厅", "我厅"), ("中心", "我中心")):
        if agency.endswith(ending):
            return we
    return "本机关"


_OPENINGS = (
    "{we}政府信息公开工作总体平稳，但对照条例要求和本年数据，仍有以下不足：",
    "从本年度的统计数据看，{we}政府信息公开工作还存在一些薄弱环节：",
    "回顾本年度工作，{we}在政府信息公开方面仍有差距，主要表现在：",
)
_TURNS = (
    "针对上述问题，下一步将重点抓好以下工作：",
    "对照存在的不足，{we}将从以下方面加以改进：",
    "下一步，{we}将聚焦上述问题，着力做好以下工作：",
)
_CARRIED = ("，往年报告已指出这一问题，仍需持续改进", "，这是往年报告提出的问题，整改还需持续用力",
            "，往年报告中已有反映，尚需进一步整改")
_PATTERNS = {p.id: p for p in PATTERNS}


def _problem(item: Planned, who: str, variant: int) -> str:
    topic = TOPICS[item.topic]
    if item.pattern and item.fact:
        wording = _pick(_PATTERNS[item.pattern].problems, who, item.pattern, variant)
        text = wording.format(**item.fact.numbers, topic=item.fact.label) + (
            "（总计栏空白，按分项相加）" if item.fact.summed else "")
    else:
        text = _pick(topic.plain, who, topic.id, variant)
        if item.basis == "earlier_report":
            text += _pick(_CARRIED, who, "carried", variant)
    return text + (f"[{item.cite}]" if item.cite else "")


def _measure(item: Planned, who: str, variant: int) -> str:
    measures = (_PATTERNS[item.pattern].measures if item.pattern else ()) or TOPICS[item.topic].measures
    return _pick(measures, who, f"measure:{item.topic}", variant)


def compose(facts: list[Fact], variant: int = 0, agency: str = "", earlier: Sequence[tuple[str, str]] = (),
            planned: list[Planned] | None = None, year: int | None = None) -> str:
    planned = plan(facts, agency, earlier, year) if planned is None else planned
    who = voice(agency, year)
    we = _we(agency or "")
    lead = next((f for f in facts if f.kind == "requests"), None)
    opening = _pick(_OPENINGS, who, "opening", variant).format(we=we)
    if lead is not None and all(p.fact is not lead for p in planned):
        opening = f"{lead.text}[{lead.id}]。{opening}"
    problems = "；".join(f"{_ORDINALS[i]}是{_problem(p, who, variant)}" for i, p in enumerate(planned))
    measures = "".join(f"{_ORDINALS[i]}是{_measure(p, who, variant)}。" for i, p in enumerate(planned))
    turn = _pick(_TURNS, who, "turn", variant).format(we=we)
    return "\n".join([HEADINGS[0], f"{opening}{problems}。", HEADINGS[1], f"{turn}{measures}"])
