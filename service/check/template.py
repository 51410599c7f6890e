"""Rule family template.*: a report printing the layout of the wrong template version."""

from __future__ import annotations

from service.check.model import Finding
from service.registry import Template, registry
from service.registry.labels import match
from service.report import Report


def check_template(report: Report, template: Template) -> list[Finding]:
    findings = []
    year = report.meta.year
    if year is not None and not template.covers_year(year):
        right = registry().template_for_year(year)
        findings.append(Finding(
            rule="template.year", severity="error" if year >= right.first_year > template.first_year else "warning",
            fields=[], numbers={"year": year},
            message=f"{year} 年度报告应使用 {right.id} 版模板（{right.label}），报告使用的是 {template.id} 版（{template.label}）的表格"))
    for row in report.unplaced:
        other = other_template_row(row.label, template)
        if other:
            findings.append(Finding(
                rule="template.row", severity="warning", fields=[],
                message=f"“{row.label}”一行是 {other[0].id} 版模板的写法，与本报告的 {template.id} 版表格不符"))
    return findings


def other_template_row(label: str, template: Template):
    for other in registry().templates.values():
        if other.id == template.id:
            continue
        own = {r.key for r in template.table3_rows} | {r.key for r in template.table2_rows}
        rows = [r for r in (*other.table3_rows, *other.table2_rows) if r.key not in own]
        found, score = match(label, rows)
        if found and score >= 0.85:
            return other, found
    return None
