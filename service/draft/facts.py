"""Facts a section 五 draft may state: figures of this year, changes since last year, check results.

Each fact has an id, its numbers and one Chinese sentence; `problem` marks facts that point at
something to improve. Every number a draft states comes from here.
"""

from __future__ import annotations

from pydantic import BaseModel

from service.check import Finding
from service.registry import registry
from service.report import Report

_HIGH_NOT_HELD = 0.3  # "本机关不掌握" above this share of all replies suggests misdirected requests


class Fact(BaseModel):
    id: str
    kind: str
    numbers: dict[str, int | float]
    sentence: str
    problem: bool = False


def _n(report: Report | None, key: str) -> int | float:
    if report is None or key not in report.fields:
        return 0
    return report.fields[key].value or 0


def _pct(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def collect(report: Report, previous: Report | None = None, findings: list[Finding] = ()) -> list[Fact]:
    out: list[Fact] = []

    def add(kind: str, numbers: dict, sentence: str, problem: bool = False) -> None:
        out.append(Fact(id=f"F{len(out) + 1}", kind=kind, numbers=numbers, sentence=sentence, problem=problem))

    received = _n(report, "t3.new_received.total")
    if previous is not None and "t3.new_received.total" in previous.fields:
        before = _n(previous, "t3.new_received.total")
        change = _pct(received - before, before)
        add("requests", {"this_year": received, "last_year": before, "change_percent": change},
            f"本年新收政府信息公开申请 {received} 件，上年 {before} 件" + (f"，变化 {change}%" if before else ""))
    else:
        add("requests", {"this_year": received}, f"本年新收政府信息公开申请 {received} 件")
    replied = _n(report, "t3.total.total")
    if replied:
        granted = _n(report, "t3.granted.total") + _n(report, "t3.partially_granted.total")
        add("disclosed", {"granted": granted, "replied": replied, "percent": _pct(granted, replied)},
            f"予以公开和部分公开 {granted} 件，占办理结果总数 {replied} 件的 {_pct(granted, replied)}%")
        not_held = _n(report, "t3.unavailable.not_held.total")
        if not_held:
            share = _pct(not_held, replied)
            add("not_held", {"not_held": not_held, "percent": share},
                f"因本机关不掌握相关政府信息无法提供 {not_held} 件，占 {share}%", problem=share >= 100 * _HIGH_NOT_HELD)
        withheld = _withheld(report)
        if withheld:
            total = sum(withheld.values())
            add("withheld", {"withheld": total}, f"不予公开 {total} 件，其中" +
                "，".join(f"{label} {n} 件" for label, n in withheld.items()))
    forward = _n(report, "t3.carried_forward.total")
    if forward:
        add("carried_forward", {"carried_forward": forward}, f"结转下年度继续办理 {forward} 件", problem=True)
    for group in registry().table4_groups:
        total, corrected = _n(report, f"t4.{group.key}.total"), _n(report, f"t4.{group.key}.corrected")
        if total:
            add("review_litigation", {"total": total, "corrected": corrected},
                f"{group.label} {total} 件，其中结果纠正 {corrected} 件", problem=corrected > 0)
    _checks(findings, add)
    return out


def _withheld(report: Report) -> dict[str, int | float]:
    rows = registry().templates[report.meta.template].table3_rows
    return {row.short: _n(report, f"t3.{row.key}.total") for row in rows
            if row.group == "withheld" and _n(report, f"t3.{row.key}.total")}


def _checks(findings, add) -> None:
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        add("check_errors", {"errors": len(errors)}, f"年报表格有 {len(errors)} 处数据不一致", problem=True)
    prose = [f for f in findings if f.rule.startswith("text.")]
    if prose:
        add("text_mismatch", {"mismatches": len(prose)}, f"正文与表格有 {len(prose)} 处数字不符", problem=True)
    blanks = sum(len(f.fields) for f in findings if f.rule == "blank.cells")
    if blanks:
        add("blank_cells", {"blank_cells": blanks}, f"表格有 {blanks} 个单元格空白未填", problem=True)
