"""Aligning a number the model gives to where the source prints it, as langextract aligns extractions.

A value is kept only when its quote is found in the document (exactly, or ignoring white space) and
the number is printed inside that quote; the span of the number is its provenance. A key the model
chose (a row for a printed label, a field for a number in prose) must also be among those the printed
words support best: a real number under the wrong key is as wrong as an invented one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from difflib import SequenceMatcher

from service.textnorm import halfwidth, normalize_label

_NUMBER = re.compile(r"(?<!\d)[-−]?\d[\d,]*(?:\.\d+)?")  # a change may be negative (本年增/减为-18)


class Source:
    """A document's text with a white-space-free view for finding quotes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._positions = [i for i, ch in enumerate(text) if not ch.isspace()]
        self._squashed = "".join(text[i] for i in self._positions)

    def find(self, quote: str) -> tuple[int, int] | None:
        squashed = "".join(quote.split())
        if not squashed:
            return None
        at = self._squashed.find(squashed)
        if at < 0:
            return None
        return self._positions[at], self._positions[at + len(squashed) - 1] + 1

    def number_in(self, span: tuple[int, int], value: float) -> tuple[int, int] | None:
        """The span of `value` printed inside `span` (full-width digits and separators allowed)."""
        start, end = span
        for match in _NUMBER.finditer(halfwidth(self.text[start:end])):
            printed = match.group(0).replace(",", "").replace("−", "-")
            if printed and float(printed) == float(value):
                return start + match.start(), start + match.end()
        return None


def ground(source: Source, value: float, quote: str) -> tuple[tuple[int, int] | None, str]:
    """(span of the number, "") when grounded, else (None, why not) in Chinese."""
    span = source.find(quote)
    if span is None:
        return None, "引文在原文中找不到"
    number = source.number_in(span, value)
    if number is None:
        return None, f"数值 {value} 不在引文中"
    return number, ""


# A clause ends at these marks; a sentence at the stronger ones.
_CLAUSE_END = re.compile(r"[，,；;。：:、\n]")
_SENTENCE_END = re.compile(r"[；;。\n]")


def before(text: str, start: int) -> tuple[str, str]:
    """The clause and the sentence that lead up to position `start` ("规章方面，本年废止件数为" → clause
    "本年废止件数为", sentence the whole)."""
    clause = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    sentence = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    return text[clause:start], text[sentence:start]


_LEAST_EVIDENCE = 2  # characters in a row: one shared character (件, 公) is chance, not evidence
_CLAUSE_SHARE = 0.5  # in a clause a name counts only when half of it or more is printed
_CUT = "\x00"  # stands where matched words were cut out, so no later match spans the gap


def support(context: str, names: tuple[str, ...]) -> int:
    """How many characters in a row `context` shares with the best of `names` (normalised labels):
    the evidence in the printed words for a label the model chose."""
    return _evidence(normalize_label(context), names)[0]


def _evidence(printed: str, names: tuple[str, ...], least_share: float = 0.0) -> tuple[int, str]:
    """(characters shared with the best of `names`, one more when that is a whole name; `printed`
    with those characters cut out). A match under `least_share` of its name is no evidence."""
    best, rest = 0, printed
    for name in names:
        at, _, size = SequenceMatcher(None, printed, name, autojunk=False).find_longest_match(
            0, len(printed), 0, len(name))
        score = size + (size == len(name)) if size >= max(_LEAST_EVIDENCE, least_share * len(name)) else 0
        if score > best:
            best, rest = score, printed[:at] + _CUT + printed[at + size:]
    return best, rest


def cell_support(clause: str, row: tuple[str, ...], column: tuple[str, ...], total: bool,
                 columns: list[tuple[str, ...]]) -> int:
    """The evidence in a clause for one cell: its row's words, then its column's among the words
    left (a character counts once: 法律服务机构 names a column, not the row 其他法律行政法规禁止公开 too).
    A clause naming no column at all ("予以公开1362件") states the row's total (`total`). In a clause
    a name is only named by half its words or more (办理结果总计 does not name 结转下年度继续办理)."""
    row_score, rest = _evidence(normalize_label(clause), row, _CLAUSE_SHARE)
    column_score = _evidence(rest, column, _CLAUSE_SHARE)[0]
    bare = total and not any(_evidence(rest, names, _CLAUSE_SHARE)[0] for names in columns)
    return row_score + column_score + bare


def best_supported(scores: Mapping[str, tuple[int, ...]]) -> set[str]:
    """The keys whose evidence is the strongest and not nil; ties are all kept, for the model to choose."""
    top = max(scores.values(), default=(0,))
    return {key for key, score in scores.items() if score == top} if any(top) else set()


def only_supported(scores: Mapping[str, tuple[int, ...]]) -> str | None:
    """The one key the evidence names best, or None when two share the top: a number in prose whose
    words fit two cells equally is left unread."""
    best = best_supported(scores)
    return best.pop() if len(best) == 1 else None
