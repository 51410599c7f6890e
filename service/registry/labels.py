"""Matching printed labels to registry labels, tolerant of drift."""

from __future__ import annotations

from typing import Sequence, TypeVar

from rapidfuzz import fuzz

from service.registry import Label
from service.textnorm import normalize_label

L = TypeVar("L", bound=Label)

_MIN_CONTAINED = 4  # shorter names ("其他", "总计") must match exactly
_MIN_FUZZY = 82


def match(text: str, candidates: Sequence[L]) -> tuple[L | None, float]:
    """Best candidate for a printed label and a confidence in [0, 1]; (None, 0) when nothing fits."""
    printed = normalize_label(text)
    if not printed:
        return None, 0.0
    best, best_score, best_len = None, 0.0, 0
    for candidate in candidates:
        for name in candidate.names:
            score = _score(printed, name)
            if score > best_score or (score == best_score and score and len(name) > best_len):
                best, best_score, best_len = candidate, score, len(name)
    return best, best_score


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
