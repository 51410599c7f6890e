"""Rule family t3.balance / t3.column_sum / t3.row_sum / t4.group_sum: the template's identities."""

from __future__ import annotations

from fractions import Fraction

from service.check import repair
from service.check.model import Finding
from service.registry import TABLE_NAMES, Identity, Template
from service.report import Report

_LISTED_TERMS = 4  # longer sums are named by their rule, not term by term


def check_identities(report: Report, template: Template) -> list[Finding]:
    values = report.values()
    residual = repair.residuals(template, values)
    broken = [i for i, r in enumerate(residual) if r != 0 and checkable(template.identities[i], values)]
    findings = []
    for cluster, suggestions in repair.localise(template, values, report.fields, broken, residual):
        for i in cluster:
            finding = _finding(template.identities[i], values, template, residual[i])
            # a break gets the repairs that mend it: each row's own total on its row, never another's
            mending = [s for s in suggestions if repair.mends(s, template.identities[i], values)]
            finding.suggestions = (mending or suggestions)[:repair.MAX_SUGGESTIONS]
            findings.append(finding)
    return findings


def checked_residuals(template: Template, values) -> list[Fraction]:
    """lhs − rhs of every identity the checker looks at on these keys, 0 for the others: what a
    report that prints only part of the template (or partial gold) can be held to."""
    return [r if checkable(identity, values) else Fraction(0)
            for identity, r in zip(template.identities, repair.residuals(template, values))]


def checkable(identity: Identity, values) -> bool:
    """A sum is checked when its total is printed and at most a quarter of its terms are absent
    (a 2021 report printing row （六） undivided still has its column sums checked)."""
    absent = sum(k not in values for k in identity.rhs)
    return all(k in values for k in identity.lhs) and absent <= len(identity.rhs) // 4


def _number(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


def _side(keys: tuple[str, ...], values, template: Template, summary: str) -> tuple[str, Fraction]:
    total = sum((Fraction(str(values.get(k) or 0)) for k in keys), Fraction(0))
    if len(keys) > _LISTED_TERMS:
        return f"{summary} {_number(total)}", total
    rows = {template.fields[k].row.key for k in keys}
    name = (lambda k: template.fields[k].row.short) if len(rows) > 1 else (lambda k: template.fields[k].column.short)
    return " + ".join(f"{name(k)} {values.get(k) or 0}" for k in keys), total


def _finding(identity: Identity, values, template: Template, residual: Fraction) -> Finding:
    lhs_summary, rhs_summary = (part.strip() for part in identity.rule_label.split("=", 1))
    lhs, _ = _side(identity.lhs, values, template, lhs_summary)
    rhs, _ = _side(identity.rhs, values, template, rhs_summary)
    table = TABLE_NAMES[template.fields[identity.lhs[0]].table]
    keys = list(identity.lhs + identity.rhs)
    return Finding(
        rule=identity.id, severity="error", fields=keys,
        numbers={k: values.get(k) for k in keys},
        message=f"{table}{identity.scope}：{lhs} ≠ {rhs}（相差 {_number(abs(residual))}）",
    )
