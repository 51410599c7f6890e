"""Matching printed labels to registry labels, tolerant of drift."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from itertools import accumulate
from typing import Sequence, TypeVar, cast

from rapidfuzz import fuzz
from rapidfuzz.process import extract

from service.registry import Label
from service.textnorm import halfwidth, normalize_halfwidth, normalize_label, strip_numbering

L = TypeVar("L", bound=Label)

_MIN_CONTAINED = 4  # shorter names ("其他", "总计") must match exactly
_MIN_FUZZY = 82
_ANNOTATION = re.compile(r"[(（\[【][^()（）\[\]【】]*(?:[)）\]】]|$)")  # also one cut off by a line break


def match(text: str, candidates: Sequence[L]) -> tuple[L | None, float]:
    """Best candidate for a printed label and a confidence in [0, 1]; (None, 0) when nothing fits
    or when two candidates fit equally well (a fragment such as "行政机关不再处理其政府信息公"
    belongs to two rows: placing it is left to its position). A label that fits nothing is tried
    again without its bracketed annotations ("规章（以本机关名义制定）")."""
    folded, printed = _folded(text)
    found = _match(printed, candidates)
    if found[0] is None and (bare := _ANNOTATION.sub("", folded)) != text:  # without_annotations(text)
        again = printed if bare == folded else normalize_label(bare)
        if again != printed:  # (the same label again would fit nothing again)
            found = _match(again, candidates)
    return found


_last = ("", "", "")  # a reader asks about one printed label several times in a row (t2, t3, t4 …)


def _folded(text: str) -> tuple[str, str]:
    """The label without numbering, folded to half width, and normalize_label(text)."""
    global _last
    last = _last
    if last[0] == text:
        return last[1], last[2]
    folded = strip_numbering(halfwidth(text))
    printed = normalize_halfwidth(folded)  # normalize_label(text)
    _last = (text, folded, printed)
    return folded, printed


def without_annotations(text: str) -> str:
    """The label without its numbering and bracketed notes, also a note cut off by a line break."""
    return _ANNOTATION.sub("", strip_numbering(halfwidth(text)))


def _match(printed: str, candidates: Sequence[L]) -> tuple[L | None, float]:
    """The candidate whose names rank best for the printed label (`_rank`), when it is the only one."""
    if not printed:
        return None, 0.0
    index = _index(candidates)
    exact = index.exact.get(printed)
    if exact is not None:  # nothing ranks as high as the printed label itself
        return (None, 0.0) if exact is _TIED else (cast(L, exact), 1.0)  # the index holds candidates
    ranks = index.ranks(printed)
    if not ranks:
        return None, 0.0
    top = max(ranks.values())
    best = [candidates[i] for i, rank in ranks.items() if rank == top]
    return (best[0], top[0]) if all(c is best[0] for c in best) else (None, 0.0)


_TIED = object()


class _Index:
    """A candidate list's names arranged for `_rank`: every printed label of a table meets all of
    them, so they are looked up by equality, by length and in one joined string instead of one by one."""

    def __init__(self, candidates: Sequence[Label]) -> None:
        self.candidates = tuple(candidates)  # held, so that the ids keying the cache stay theirs
        self.exact: dict[str, object] = {}
        named = [(name, i) for i, c in enumerate(candidates) for name in c.names]
        for name, i in named:
            known = self.exact.setdefault(name, candidates[i])
            if known is not candidates[i]:
                self.exact[name] = _TIED
        self.long = sorted(((len(n), n, i) for n, i in named if len(n) >= _MIN_CONTAINED), key=lambda e: e[0])
        self.long_sizes = [size for size, _, _ in self.long]
        self.long_names = [n for _, n, _ in self.long]
        self.joined = "\n".join(n for n, _ in named)  # "\n" is never part of a normalised label
        self.starts = list(accumulate((len(n) + 1 for n, _ in named[:-1]), initial=0))
        self.owners = [i for _, i in named]

    def ranks(self, printed: str) -> dict[int, tuple[float, int]]:
        """Candidate position → its best rank above zero, as `_rank` ranks each of its names."""
        ranks: dict[int, tuple[float, int]] = {}

        def better(i: int, rank: tuple[float, int]) -> None:
            if rank > ranks.get(i, (0.0, 0)):
                ranks[i] = rank

        size = len(printed)
        if size < _MIN_CONTAINED:
            return ranks
        for length, name, i in self.long[:bisect_right(self.long_sizes, size)]:
            if name in printed:  # a name found inside the printed label
                better(i, (0.9, length))
        at = self.joined.find(printed)
        while at != -1:  # the printed label found inside a name
            better(self.owners[bisect_right(self.starts, at) - 1], (0.85, 0))
            at = self.joined.find(printed, at + 1)
        # fuzzy: the ratio can reach _MIN_FUZZY only for names of about the printed label's length
        # (200·min(a, b) ≥ _MIN_FUZZY·(a + b) holds exactly for the lengths between these two)
        low = bisect_left(self.long_sizes, (_MIN_FUZZY * size + 200 - _MIN_FUZZY - 1) // (200 - _MIN_FUZZY))
        high = bisect_right(self.long_sizes, (200 - _MIN_FUZZY) * size // _MIN_FUZZY)
        if low < high:
            for _, ratio, k in extract(printed, self.long_names[low:high], scorer=fuzz.ratio,
                                       score_cutoff=_MIN_FUZZY, limit=None):
                better(self.long[low + k][2], (round(ratio / 100 * 0.85, 3), 0))
        return ranks


_INDEXES: dict[tuple[int, ...], _Index] = {}


def _index(candidates: Sequence[Label]) -> _Index:
    if type(candidates) is tuple:  # the registry's own tuples, known by identity (held, so the id stays theirs)
        known = _BY_TUPLE.get(id(candidates))
        if known is not None and known[0] is candidates:
            return known[1]
    key = tuple(map(id, candidates))
    index = _INDEXES.get(key)
    if index is None:
        if len(_INDEXES) >= 256:  # candidate lists are the registry's rows and groups, or slices of them
            _INDEXES.clear()
        index = _INDEXES[key] = _Index(candidates)
    if type(candidates) is tuple:
        if len(_BY_TUPLE) >= 256:
            _BY_TUPLE.clear()
        _BY_TUPLE[id(candidates)] = (candidates, index)
    return index


_BY_TUPLE: dict[int, tuple[tuple, _Index]] = {}


def _rank(printed: str, name: str) -> tuple[float, int]:
    """(score, specificity): among names found inside the printed label the longest is the most
    specific; a printed fragment found inside several names says nothing more by their length.
    The definition `_Index.ranks` computes for all names at once (tests/test_labels.py holds them equal)."""
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
