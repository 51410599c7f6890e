"""Localisation and repair: the fewest cells whose change makes every identity hold.

Identities are linear in the cells, so a change of one cell by d moves every identity it sits in by
±d. One-cell repairs are tried first, then two-cell repairs; each candidate is ranked by how
plausibly its old value came from the suggested one (a digit dropped or doubled, two digits
swapped, an OCR confusion, two cells swapped, a blank), and by how sure extraction was of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from itertools import combinations

from service.check.model import Suggestion
from service.registry import Identity, Template, registry
from service.report import FieldValue

Number = int | float
_OCR_CONFUSIONS = {frozenset(p) for p in ("17", "68", "08", "38", "56", "14", "49", "35")}
MAX_SUGGESTIONS = 5


@dataclass(frozen=True)
class _System:
    identities: tuple[Identity, ...]
    cells: dict[str, tuple[tuple[int, int], ...]]  # key → (identity index, +1 lhs / -1 rhs)


@cache
def _system(template_id: str) -> _System:
    identities = registry().templates[template_id].identities
    cells: dict[str, list[tuple[int, int]]] = {}
    for i, identity in enumerate(identities):
        for key in identity.lhs:
            cells.setdefault(key, []).append((i, 1))
        for key in identity.rhs:
            cells.setdefault(key, []).append((i, -1))
    return _System(identities, {k: tuple(v) for k, v in cells.items()})


def residuals(template: Template, values: dict[str, Number | None]) -> list[Fraction]:
    """lhs − rhs of every identity, blanks counting as 0; exact arithmetic for money."""
    system = _system(template.id)
    out = []
    for identity in system.identities:
        lhs = sum(Fraction(str(values.get(k) or 0)) for k in identity.lhs)
        rhs = sum(Fraction(str(values.get(k) or 0)) for k in identity.rhs)
        out.append(lhs - rhs)
    return out


def clusters(template: Template, broken: list[int]) -> list[list[int]]:
    """Broken identities grouped by shared cells: each group is one error to localise."""
    system = _system(template.id)
    groups: list[tuple[set[int], set[str]]] = []
    for i in broken:
        identity = system.identities[i]
        keys = set(identity.lhs + identity.rhs)
        touching = [g for g in groups if g[1] & keys]
        merged = ({i}, keys)
        for g in touching:
            merged = (merged[0] | g[0], merged[1] | g[1])
            groups.remove(g)
        groups.append(merged)
    return [sorted(g[0]) for g in groups]


def suggest(template: Template, values: dict[str, Number | None], fields: dict[str, FieldValue],
            cluster: list[int], residual: list[Fraction]) -> list[Suggestion]:
    system = _system(template.id)
    involved = sorted({k for i in cluster for k in system.identities[i].lhs + system.identities[i].rhs})
    singles = [s for k in involved if (s := _single(system, k, cluster, residual, values, fields, template))]
    found = singles or _pairs(system, involved, cluster, residual, values, fields, template)
    found.sort(key=lambda s: -s.score)
    return found[:MAX_SUGGESTIONS]


def _single(system, key, cluster, residual, values, fields, template) -> Suggestion | None:
    terms = system.cells[key]
    if not set(cluster) <= {i for i, _ in terms}:
        return None
    deltas = {-residual[i] / sign for i, sign in terms}
    if len(deltas) != 1:
        return None
    return _suggestion({key: deltas.pop()}, values, fields, template)


def _pairs(system, involved, cluster, residual, values, fields, template) -> list[Suggestion]:
    out = []
    for a, b in combinations(involved, 2):
        deltas = _solve_pair(system, a, b, cluster, residual)
        if deltas and (s := _suggestion(deltas, values, fields, template)):
            out.append(s)
    return out


def _solve_pair(system, a, b, cluster, residual) -> dict[str, Fraction] | None:
    terms_a, terms_b = dict(system.cells[a]), dict(system.cells[b])
    touched = set(terms_a) | set(terms_b)
    if not set(cluster) <= touched:
        return None
    da = db = None
    for i in touched:  # identities with one of the two cells fix its change
        if i in terms_a and i not in terms_b:
            value = -residual[i] / terms_a[i]
            if da is not None and da != value:
                return None
            da = value
        elif i in terms_b and i not in terms_a:
            value = -residual[i] / terms_b[i]
            if db is not None and db != value:
                return None
            db = value
    for i in touched & set(terms_a) & set(terms_b):  # identities with both then fix the other
        if da is None and db is not None:
            da = (-residual[i] - terms_b[i] * db) / terms_a[i]
        elif db is None and da is not None:
            db = (-residual[i] - terms_a[i] * da) / terms_b[i]
        if da is None or db is None or terms_a[i] * da + terms_b[i] * db != -residual[i]:
            return None
    if da is None or db is None or da == 0 or db == 0:
        return None
    return {a: da, b: db}


def _suggestion(deltas: dict[str, Fraction], values, fields, template) -> Suggestion | None:
    suggested, reasons, score = {}, [], 1.0
    for key, delta in deltas.items():
        old = values.get(key)
        new = Fraction(str(old or 0)) + delta
        field = template.fields[key]
        if (new < 0 and not field.signed) or (new.denominator != 1 and not field.money):
            return None
        new_value: Number = int(new) if new.denominator == 1 else float(new)
        reason, prior = _pattern(old, new_value, field.is_total)
        suggested[key] = new_value
        reasons.append(f"{field.short} {_show(old)} → {new_value}（{reason}）")
        confidence = fields[key].confidence if key in fields else 1.0
        score *= prior * (2 - confidence)
    if len(deltas) == 2:
        (a, b) = deltas
        if values.get(a) == suggested[b] and values.get(b) == suggested[a]:
            reasons, score = [f"{template.fields[a].short} 与 {template.fields[b].short} 两格数值互换"], 0.95
        else:
            score *= 0.5  # a two-cell change is less likely than a one-cell one
    cause = _cause([fields.get(k) for k in deltas])
    return Suggestion(fields=suggested, reason="；".join(reasons), score=round(score, 4), cause=cause)


def _show(value) -> str:
    return "空白" if value is None else str(value)


def _pattern(old: Number | None, new: Number, is_total: bool) -> tuple[str, float]:
    """How a printed (or read) value `old` may have come from the right value `new`."""
    if is_total and not old:
        return "总计漏填", 0.7
    if old is None:
        return "空白单元格", 0.5
    o, n = str(old), str(new)
    if len(o) == len(n) + 1 and any(o[:i] + o[i + 1:] == n for i in range(len(o))):
        return "多了一位数字", 0.9
    if len(n) == len(o) + 1 and any(n[:i] + n[i + 1:] == o for i in range(len(n))):
        return "少了一位数字", 0.9
    if len(o) == len(n):
        diff = [i for i in range(len(o)) if o[i] != n[i]]
        if len(diff) == 2 and diff[1] == diff[0] + 1 and o[diff[0]] == n[diff[1]] and o[diff[1]] == n[diff[0]]:
            return "相邻数字颠倒", 0.8
        if len(diff) == 1:
            if frozenset((o[diff[0]], n[diff[0]])) in _OCR_CONFUSIONS:
                return f"{n[diff[0]]} 误为 {o[diff[0]]}（易混数字）", 0.75
            if len(o) > 1:  # in a one-digit number every change is "one digit"
                return "一位数字有误", 0.6
    return "数值有误", 0.3


def _cause(read: list[FieldValue | None]) -> str | None:
    """Extraction is suspect when a cell was not read by a sure rule from an exact source match."""
    known = [f for f in read if f is not None and f.provenance is not None]
    if not known:
        return None
    if any(f.method != "rule" or f.confidence < 0.85 or f.provenance.alignment != "exact" for f in known):
        return "extraction"
    return "report"
