"""Matching printed labels to registry labels, tolerant of drift."""

from __future__ import annotations

import re
from typing import Sequence, TypeVar

from rapidfuzz import fuzz

from service.registry import Label
from service.textnorm import halfwidth, normalize_label, strip_numbering

L = TypeVar("L", bound=Label)

_MIN_CONTAINED = 4  # shorter names ("其他", "总计") must match exactly
_MIN_FUZZY = 82
_ANNOTATION = re.compile(r"[(（\[【][^()（）\[\]【】]*(?:[)）\]】]|$)")  # also one cut off by a line break


def match(text: str, candidates: Sequence[L]) -> tuple[L | None, float]:
    """Best candidate for a printed label and a confidence in [0, 1]; (None, 0) when nothing fits
    or when two candidates fit equally well (a fragment such as "行政机关不再处理其政府信息公"
    belongs to two rows: placing it is left to its position). A label that fits nothing is tried
    again without its bracketed annotations ("规章（以本机关名义制定）")."""
    found = _match(normalize_label(text), candidates)
    if found[0] is None and (bare := without_annotations(text)) != text:
        found = _match(normalize_label(bare), candidates)
    return found


def without_annotations(text: str) -> str:
    """The label without its numbering and bracketed notes, also a note cut off by a line break."""
    return _ANNOTATION.sub("", strip_numbering(halfwidth(text)))


def _match(printed: str, candidates: Sequence[L]) -> tuple[L | None, float]:
    if not printed:
        return None, 0.0
    best, best_rank, tied = None, (0.0, 0), False
    for candidate in candidates:
        rank = _best_rank(printed, candidate.names)
        if rank[0] and rank > best_rank:
            best, best_rank, tied = candidate, rank, False
        elif rank[0] and rank == best_rank and candidate is not best:
            tied = True
    return (None, 0.0) if tied or best is None else (best, best_rank[0])


def _best_rank(printed: str, names: Sequence[str]) -> tuple[float, int]:
    """The best (score, specificity) of a candidate's names: `_rank` of each, inlined, since every
    printed label meets every name of its table's rows."""
    best = (0.0, 0)
    size = len(printed)
    for name in names:
        if printed == name:
            return 1.0, size  # nothing ranks above the printed label itself
        if len(name) >= _MIN_CONTAINED and name in printed:
            rank = (0.9, len(name))
        elif size >= _MIN_CONTAINED and printed in name:
            rank = (0.85, 0)
        elif size >= _MIN_CONTAINED and len(name) >= _MIN_CONTAINED and 200 * min(size, len(name)) >= _MIN_FUZZY * (size + len(name)):
            # (the ratio can reach _MIN_FUZZY only when the lengths are that close)
            ratio = fuzz.ratio(printed, name, score_cutoff=_MIN_FUZZY)
            if not ratio:
                continue
            rank = (round(ratio / 100 * 0.85, 3), 0)
        else:
            continue
        if rank > best:
            best = rank
    return best


def _rank(printed: str, name: str) -> tuple[float, int]:
    """(score, specificity): among names found inside the printed label the longest is the most
    specific; a printed fragment found inside several names says nothing more by their length."""
    score = _score(printed, name)
    return score, len(name) if score >= 0.9 else 0


def _score(printed: str, name: str) -> float:
    if printed == name:
        return 1.0
    if len(name) >= _MIN_CONTAINED and name in printed:
        return 0.9
    if len(printed) >= _MIN_CONTAINED and printed in name:
        return 0.85
    if min(len(printed), len(name)) >= _MIN_CONTAINED:
        ratio = fuzz.ratio(printed, name)
        if ratio >= _MIN_FUZZY:
            return round(ratio / 100 * 0.85, 3)
    return 0.0
