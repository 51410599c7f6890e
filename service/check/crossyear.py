"""Rule family crossyear.*: this year's report against last year's of the same body."""

from __future__ import annotations

from service.check.model import Finding
from service.registry import registry
from service.report import Report


def check_cross_year(report: Report, previous: Report) -> list[Finding]:
    this, last = report.values(), previous.values()
    findings = []
    for column in registry().table3_columns:
        now, before = f"t3.carried_over.{column.key}", f"t3.carried_forward.{column.key}"
        if now in this and before in last and (this[now] or 0) != (last[before] or 0):
            findings.append(Finding(
                rule="crossyear.carried_over", severity="warning", fields=[now],
                numbers={"this_year": this[now], "last_year": last[before]},
                message=f"表三“{column.label}”列：本年上年结转 {this[now] or 0} ≠ 上年报告结转下年度继续办理 {last[before] or 0}"))
    if report.meta.template == "2021" and previous.meta.template == "2021":
        findings += _in_force(this, last)
    if report.meta.template == "2019" and previous.meta.template == "2019":
        findings += _project_counts(this, last)
    return findings


def _in_force(this, last) -> list[Finding]:
    out = []
    for row, name in (("regulations", "规章"), ("normative_documents", "行政规范性文件")):
        keys = [f"t2.{row}.{c}" for c in ("in_force", "issued", "repealed")]
        previous = f"t2.{row}.in_force"
        if not all(k in this for k in keys) or previous not in last:
            continue
        expected = (last[previous] or 0) + (this[keys[1]] or 0) - (this[keys[2]] or 0)
        if (this[keys[0]] or 0) != expected:
            out.append(Finding(
                rule="crossyear.in_force", severity="warning", fields=keys,
                numbers={"in_force": this[keys[0]], "expected": expected},
                message=f"表二{name}：现行有效件数 {this[keys[0]] or 0} ≠ 上年现行有效 {last[previous] or 0} + 本年制发 "
                        f"{this[keys[1]] or 0} − 本年废止 {this[keys[2]] or 0} = {expected}"))
    return out


def _project_counts(this, last) -> list[Finding]:
    out = []
    rows = {r.key: r for r in registry().templates["2019"].table2_rows}
    for key, row in rows.items():
        prev_key, change_key = f"t2.{key}.prev_count", f"t2.{key}.change"
        if prev_key not in this or prev_key not in last or change_key not in last:
            continue
        expected = (last[prev_key] or 0) + (last[change_key] or 0)
        if (this[prev_key] or 0) != expected:
            out.append(Finding(
                rule="crossyear.project_count", severity="warning", fields=[prev_key],
                numbers={"prev_count": this[prev_key], "expected": expected},
                message=f"表二{row.label}：上一年项目数量 {this[prev_key] or 0} ≠ 上年报告的 {last[prev_key] or 0} + 增减 "
                        f"{last[change_key] or 0} = {expected}"))
    return out
