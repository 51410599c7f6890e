"""Checks a section 五 draft must pass before it is returned: every number grounded in the facts,
no copying of the agency's previous section 五 (内容雷同), the two parts present, a sensible length.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

MAX_OVERLAP = 0.30  # share of the draft's character 8-grams found in a previous text
NGRAM = 8
LENGTH_RANGE = (120, 1500)  # characters without citation marks; gold section 五 texts run 260–740
HEADINGS = ("（一）存在的主要问题", "（二）改进情况")

_CITATION = re.compile(r"\[(?:[FP]\d+)(?:[,，]\s*[FP]\d+)*\]")
_ENUMERATOR = re.compile(r"^\s*\d+[.、．]\s*", re.M)  # "1. " starting a list item is not a figure
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NOT_TEXT = re.compile(r"[\s\W_]+")  # whitespace and punctuation do not make two texts alike
SENTENCE = re.compile(r"[^。；！？\n]+[。；！？]?")
_FULLWIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")


class DraftCheck(BaseModel):
    name: str  # "numbers_grounded" | "overlap_previous" | "structure" | "length"
    passed: bool
    value: float | int | None = None
    limit: float | int | list[int] | None = None
    message: str  # Chinese, for the person reading the draft
    flag: str | None = None  # "内容雷同" when the draft copies last year
    attempts: int = 1


def plain(text: str) -> str:
    """The draft as a reader sees its words: without citation marks."""
    return _CITATION.sub("", text)


def cited_ids(text: str) -> set[str]:
    return {i for mark in _CITATION.findall(text) for i in re.findall(r"[FP]\d+", mark)}


def numbers_in(text: str) -> list[str]:
    return _NUMBER.findall(_ENUMERATOR.sub("", plain(text)).translate(_FULLWIDTH))


def ungrounded(text: str, allowed: set[float]) -> list[str]:
    return [n for n in numbers_in(text) if float(n) not in allowed]


def drop_ungrounded(text: str, allowed: set[float]) -> str:
    """The draft without the sentences that state a number the facts do not hold."""
    lines = []
    for line in text.splitlines():
        kept = "".join(s for s in SENTENCE.findall(line) if not ungrounded(s, allowed))
        if kept.strip() and not _ENUMERATOR.fullmatch(kept):
            lines.append(kept)
    return "\n".join(lines)


def _grams(text: str) -> set[str]:
    letters = _NOT_TEXT.sub("", plain(text))
    return {letters[i:i + NGRAM] for i in range(len(letters) - NGRAM + 1)}


def overlap(draft: str, previous: str) -> float:
    """Share of the draft's character 8-grams that also occur in `previous`."""
    mine = _grams(draft)
    return round(len(mine & _grams(previous)) / len(mine), 4) if mine else 0.0


def check_numbers(text: str, allowed: set[float]) -> DraftCheck:
    found, bad = numbers_in(text), ungrounded(text, allowed)
    share = 1.0 if not found else round(1 - len(bad) / len(found), 4)
    return DraftCheck(name="numbers_grounded", passed=not bad, value=share, limit=1.0,
                      message="草稿中的数字均来自本年数据" if not bad else f"草稿中有数字不在本年数据中：{'、'.join(bad[:8])}")


def check_overlap(text: str, previous: dict[str, str], attempts: int = 1) -> DraftCheck:
    """Against every earlier section 五 of the agency, keyed by a label such as "2023年报告"."""
    if not previous:
        return DraftCheck(name="overlap_previous", passed=True, value=None, limit=MAX_OVERLAP, attempts=attempts,
                          message="没有本机关往年的第五部分可供比对")
    label, worst = max(((k, overlap(text, v)) for k, v in previous.items()), key=lambda kv: kv[1])
    passed = worst <= MAX_OVERLAP
    return DraftCheck(name="overlap_previous", passed=passed, value=worst, limit=MAX_OVERLAP, attempts=attempts,
                      flag=None if passed else "内容雷同",
                      message=f"与{label}第五部分的 8 字重合率 {worst:.0%}" + ("" if passed else "，超过 30%，内容雷同"))


def check_structure(text: str) -> DraftCheck:
    missing = [h for h in HEADINGS if h not in text]
    parts = re.split("|".join(map(re.escape, HEADINGS)), text)[1:]
    empty = len(parts) == len(HEADINGS) and any(not p.strip() for p in parts)
    passed = not missing and not empty
    message = "包含“存在的主要问题”和“改进情况”两部分" if passed else \
        (f"缺少标题：{'、'.join(missing)}" if missing else "有一部分没有内容")
    return DraftCheck(name="structure", passed=passed, message=message)


def check_length(text: str) -> DraftCheck:
    size = len(re.sub(r"\s", "", plain(text)))
    low, high = LENGTH_RANGE
    passed = low <= size <= high
    return DraftCheck(name="length", passed=passed, value=size, limit=[low, high],
                      message=f"正文 {size} 字" + ("" if passed else f"，应在 {low}–{high} 字之间"))
