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

from service.check.model import Suggestion
from service.registry import Identity, Template, registry
from service.report import FieldValue

Number = int | float
_OCR_CONFUSIONS = {frozenset(p) for p in ("17", "68", "08", "38", "56", "14", "49", "35")}
MAX_SUGGESTIONS = 5
_SPLIT_PRIOR = 0.45  # a specific pattern, but it changes two cells
_MAX_JOINT = 6  # two cells sit in at most six identities: more breaks need more cells


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


def exact(value: Number | None) -> Fraction:
    """A cell as an exact number, blank as 0; money by its printed decimals (0.1 is 1/10)."""
    if not value:
        return Fraction(0)
    return Fraction(value) if isinstance(value, int) else Fraction(str(value))


def residuals(template: Template, values: dict[str, Number | None]) -> list[Fraction]:
    """lhs − rhs of every identity, blanks counting as 0; exact arithmetic for money."""
    system = _system(template.id)
    cells = {key: exact(values.get(key)) for key in system.cells}  # each cell sits in several identities
    return [sum((cells[k] for k in identity.lhs), Fraction(0)) - sum((cells[k] for k in identity.rhs), Fraction(0))
            for identity in system.identities]


def localise(template: Template, values: dict[str, Number | None], fields: dict[str, FieldValue],
             broken: list[int], residual: list[Fraction]) -> list[tuple[list[int], list[Suggestion]]]:
    """Groups of broken identities, each with its ranked repairs.

    Breaks that share cells are one group. When some group has no repair of its own, one repair
    for all breaks together is tried (two swapped cells break two columns that share no cell);
    when none exists either, each group gets the changes that explain part of its breaks.
    """
    system = _system(template.id)
    if not broken:
        return []
    groups = _clusters(system, broken)
    own = [(group, _search(system, group, residual, values, fields, template, partial=False)) for group in groups]
    if all(found for _, found in own):
        return own
    if len(broken) <= _MAX_JOINT:
        joint = _search(system, broken, residual, values, fields, template, partial=False)
        if joint:
            return [(broken, joint)]
    return [(group, found or _search(system, group, residual, values, fields, template)) for group, found in own]


def _clusters(system: _System, broken: list[int]) -> list[list[int]]:
    groups: list[tuple[set[int], set[str]]] = []
    for i in broken:
        identity = system.identities[i]
        merged = ({i}, set(identity.lhs + identity.rhs))
        for group in [g for g in groups if g[1] & merged[1]]:
            merged = (merged[0] | group[0], merged[1] | group[1])
            groups.remove(group)
        groups.append(merged)
    return [sorted(g[0]) for g in groups]


def _search(system, target, residual, values, fields, template, partial: bool = True) -> list[Suggestion]:
    keys = lambda i: system.identities[i].lhs + system.identities[i].rhs
    involved = sorted({k for i in target for k in keys(i)})
    found = [s for k in involved if (s := _single(system, k, target, residual, values, fields, template))]
    found += _splits(system, involved, target, residual, values, fields, template)
    if not found:
        for a in keys(target[0]):
            uncovered = [set(keys(i)) for i in target if a not in keys(i)]
            partners = set.intersection(*uncovered) if uncovered else {k for i, _ in system.cells[a] for k in keys(i)}
            for b in sorted(partners - {a}):
                deltas = _solve_pair(system, a, b, target, residual)
                if deltas and (s := _suggestion(deltas, values, fields, template)):
                    found.append(s)
    if not found and partial:
        found = _blank_totals(system, target, residual, values, fields, template)
        found += _partial(system, involved, target, residual, values, fields, template)
    unique = {tuple(sorted(s.fields.items())): s for s in found}
    return sorted(unique.values(), key=lambda s: -s.score)


def mends(suggestion: Suggestion, identity: Identity, values: dict[str, Number | None]) -> bool:
    """Whether the suggested values make this identity hold."""
    new = {**values, **suggestion.fields}
    total = lambda keys: sum((exact(new.get(k)) for k in keys), Fraction(0))
    return total(identity.lhs) == total(identity.rhs)


def _defines(system: _System, key: str) -> list[int]:
    """The identities whose only left-hand term is this cell: the sums that say what a total must be."""
    return [i for i, sign in system.cells[key] if sign == 1 and len(system.identities[i].lhs) == 1]


def _blank_totals(system, target, residual, values, fields, template) -> list[Suggestion]:
    """A total column (or row) left blank: every blank total of the broken sums filled with its own
    sum, as one change."""
    deltas = {system.identities[i].lhs[0]: -residual[i] for i in target
              if len(system.identities[i].lhs) == 1 and values.get(system.identities[i].lhs[0]) is None
              and residual[i] != 0}
    if len(deltas) < 2:
        return []
    suggestion = _suggestion(deltas, values, fields, template)
    if suggestion is None:
        return []
    suggestion.reason = f"总计漏填：{len(deltas)} 个空白总计各填为本行（列）之和"
    suggestion.score = 1.0  # the one change that accounts for every blank total at once
    return [suggestion]


def _partial(system, involved, target, residual, values, fields, template) -> list[Suggestion]:
    """When no change of one or two cells mends every break (several errors at once), single
    changes that mend some breaks and spoil nothing, ranked by how many breaks they explain."""
    out = []
    for key in involved:
        terms = system.cells[key]
        own = [i for i in _defines(system, key) if i in target]  # a broken sum of its own fixes a total's value
        for delta in {-residual[i] / sign for i, sign in terms if i in (own or target)}:
            if any(residual[i] == 0 for i, _ in terms):
                break  # the cell sits in a sum that holds: any change would spoil it
            mended = sum(residual[i] + sign * delta == 0 for i, sign in terms)
            if mended and (s := _suggestion({key: delta}, values, fields, template)):
                s.reason += f"（可解释 {len(target)} 处不平衡中的 {mended} 处）"
                s.score = round((mended + s.score) / (len(target) + 1), 4)  # breaks explained count first
                out.append(s)
    return out


def _splits(system, involved, target, residual, values, fields, template) -> list[Suggestion]:
    """A number printed across two neighbouring cells: "13" read as 1 | 3 in place of 13 | 4."""
    out = []
    for a in involved:
        b = _next_in_row(template.id).get(a)
        va, vb = values.get(a), values.get(b) if b else None
        if b is None or not isinstance(va, int) or not isinstance(vb, int) or va < 1 or vb < 0:
            continue  # a split number starts with a non-zero digit
        da = Fraction(int(f"{va}{vb}") - va)
        db = _partner_delta(system, a, b, da, target, residual)
        if db and (s := _suggestion({a: da, b: db}, values, fields, template)):
            s.reason = f"{template.fields[a].short} 的数字被拆到相邻两格：{s.reason}"
            s.score = round(_SPLIT_PRIOR * (2 - min(fields[k].confidence if k in fields else 1.0 for k in (a, b))), 4)
            out.append(s)
    return out


@cache
def _next_in_row(template_id: str) -> dict[str, str]:
    fields = list(registry().templates[template_id].fields.values())
    return {f.key: g.key for f, g in zip(fields, fields[1:]) if f.row.key == g.row.key and f.table == g.table}


def _partner_delta(system, a, b, da, target, residual) -> Fraction | None:
    """The change of b that, with a changed by da, makes every identity of a and b hold."""
    terms_a, terms_b = dict(system.cells[a]), dict(system.cells[b])
    touched = set(terms_a) | set(terms_b)
    if not set(target) <= touched:
        return None
    db = None
    for i in touched:
        rest = -residual[i] - terms_a.get(i, 0) * da
        if i in terms_b:
            value = rest / terms_b[i]
            if db is not None and db != value:
                return None
            db = value
        elif rest != 0:
            return None
    return db


def _single(system, key, cluster, residual, values, fields, template) -> Suggestion | None:
    terms = system.cells[key]
    if not set(cluster) <= {i for i, _ in terms}:
        return None
    deltas = {-residual[i] / sign for i, sign in terms}
    if len(deltas) != 1:
        return None
    return _suggestion({key: deltas.pop()}, values, fields, template)


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
        if new_value == 0 and old:
            prior *= 1.2  # most cells of real tables are 0: a stray number is likelier than a lost one
        elif not old and new_value and not field.is_total:
            prior *= 0.8
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
    known = [(f, f.provenance) for f in read if f is not None and f.provenance is not None]
    if not known:
        return None
    if any(f.method != "rule" or f.confidence < 0.85 or p.alignment != "exact" for f, p in known):
        return "extraction"
    return "report"
