"""Facts a section 五 draft may state: figures of this year, changes since last year, shares and
rates, blank or zero anomalies, and the checker's findings.

Each fact has an id (F1, F2 …), its numbers and one Chinese sentence; `problem` marks facts that
point at something to improve. Every number a draft states comes from here: the draft checks
compare the draft's numbers against `grounded_numbers`.
"""

from __future__ import annotations

from pydantic import BaseModel

from service.check import Finding
from service.registry import TABLE_NAMES, TABLES, registry
from service.report import Report

_HIGH_NOT_HELD = 30.0  # % of all replies: "本机关不掌握" above this suggests misdirected requests
_LOW_DISCLOSED = 50.0  # % of all replies granted in full or in part; below it, refusals need explaining


class Fact(BaseModel):
    id: str
    kind: str
    numbers: dict[str, int | float]
    text: str
    problem: bool = False
    topic: str = ""  # the problem in a few words and no figure, for "针对…" in the improvements


class NoFiguresError(ValueError):
    """A report without a single figure: nothing to draft from. The message is Chinese."""

    message = "报告中没有任何统计数字（表二至表四均为空或未识别），无法依据数据起草第五部分"


def _n(report: Report | None, key: str) -> int | float:
    if report is None or key not in report.fields:
        return 0
    return report.fields[key].value or 0


def _pct(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _has(report: Report | None, key: str) -> bool:
    return report is not None and key in report.fields


class _Facts:
    def __init__(self) -> None:
        self.items: list[Fact] = []

    def add(self, kind: str, numbers: dict, text: str, problem: bool = False, topic: str = "") -> None:
        self.items.append(Fact(id=f"F{len(self.items) + 1}", kind=kind, numbers=numbers, text=text, problem=problem,
                               topic=topic))


def collect(report: Report, previous: Report | None = None, findings: list[Finding] = ()) -> list[Fact]:
    if not any(f.value is not None for f in report.fields.values()):
        raise NoFiguresError(NoFiguresError.message)
    facts = _Facts()
    _requests(report, previous, facts)
    _replies(report, previous, facts)
    _review_litigation(report, previous, facts)
    _fees(report, facts)
    _zero_tables(report, facts)
    _checks(findings, facts)
    return facts.items


def _requests(report: Report, previous: Report | None, facts: _Facts) -> None:
    year = report.meta.year
    received = _n(report, "t3.new_received.total")
    opening = f"{year}年" if year else "本年"
    numbers = {"year": year} if year else {}
    if _has(previous, "t3.new_received.total"):
        before = _n(previous, "t3.new_received.total")
        change = _pct(received - before, before)
        trend = (f"，{'增加' if change > 0 else '减少'} {abs(change)}%" if before and change else "，与上年持平" if received == before else "")
        facts.add("requests", {**numbers, "this_year": received, "last_year": before, "change_percent": change},
                  f"{opening}新收政府信息公开申请 {received} 件，上年 {before} 件{trend}")
    else:
        facts.add("requests", {**numbers, "this_year": received}, f"{opening}新收政府信息公开申请 {received} 件")
    forward = _n(report, "t3.carried_forward.total")
    if forward:
        facts.add("carried_forward", {"carried_forward": forward}, f"结转下年度继续办理 {forward} 件", problem=True,
                  topic="跨年度结转办理的申请")


def _replies(report: Report, previous: Report | None, facts: _Facts) -> None:
    replied = _n(report, "t3.total.total")
    if not replied:
        return
    granted = _n(report, "t3.granted.total") + _n(report, "t3.partially_granted.total")
    rate = _pct(granted, replied)
    numbers = {"granted": granted, "replied": replied, "percent": rate}
    text = f"予以公开和部分公开 {granted} 件，占办理结果总数 {replied} 件的 {rate}%"
    before_replied = _n(previous, "t3.total.total")
    if before_replied:
        before = _pct(_n(previous, "t3.granted.total") + _n(previous, "t3.partially_granted.total"), before_replied)
        numbers["last_year_percent"] = before
        text += f"（上年 {before}%）"
    facts.add("disclosed", numbers, text, problem=rate < _LOW_DISCLOSED, topic="予以公开比例偏低的问题")
    not_held = _n(report, "t3.unavailable.not_held.total")
    if not_held:
        share = _pct(not_held, replied)
        facts.add("not_held", {"not_held": not_held, "percent": share},
                  f"因本机关不掌握相关政府信息无法提供 {not_held} 件，占 {share}%", problem=share >= _HIGH_NOT_HELD,
                  topic="申请所涉信息不属于本机关掌握的情况")
    withheld = _withheld(report)
    if withheld:
        total = sum(withheld.values())
        facts.add("withheld", {"withheld": total, **withheld},
                  f"不予公开 {total} 件，其中" + "，".join(f"{label} {n} 件" for label, n in withheld.items()))


def _withheld(report: Report) -> dict[str, int | float]:
    rows = registry().templates[report.meta.template].table3_rows
    return {row.short: _n(report, f"t3.{row.key}.total") for row in rows
            if row.group == "withheld" and _n(report, f"t3.{row.key}.total")}


def _review_litigation(report: Report, previous: Report | None, facts: _Facts) -> None:
    for group in registry().table4_groups:
        total, corrected = _n(report, f"t4.{group.key}.total"), _n(report, f"t4.{group.key}.corrected")
        if not total:
            continue
        numbers = {"total": total, "corrected": corrected}
        text = f"{group.label} {total} 件，其中结果纠正 {corrected} 件"
        if _has(previous, f"t4.{group.key}.total"):
            numbers["last_year"] = _n(previous, f"t4.{group.key}.total")
            text += f"（上年 {numbers['last_year']} 件）"
        facts.add("review_litigation", numbers, text, problem=corrected > 0, topic=f"{group.label}中被纠正的案件")


def _fees(report: Report, facts: _Facts) -> None:
    amount = _n(report, "t2.fees.amount")
    if amount:
        facts.add("fees", {"amount": amount}, f"行政事业性收费金额 {amount} 万元")


def _zero_tables(report: Report, facts: _Facts) -> None:
    """A table printed with nothing but zeros and blanks: worth a sentence, and worth a second look."""
    for table in TABLES:
        values = [f.value for key, f in report.fields.items() if key.startswith(f"{table}.")]
        if values and not any(values):
            facts.add("zero_table", {}, f"{TABLE_NAMES[table]}各项均为零或空白")


def _checks(findings: list[Finding], facts: _Facts) -> None:
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        facts.add("check_errors", {"errors": len(errors)}, f"年报表格有 {len(errors)} 处数据不一致", problem=True,
                  topic="表格数据不一致的问题")
    prose = [f for f in findings if f.rule.startswith("text.")]
    if prose:
        facts.add("text_mismatch", {"mismatches": len(prose)}, f"正文与表格有 {len(prose)} 处数字不符", problem=True,
                  topic="正文与表格数字不符的问题")
    blanks = sum(len(f.fields) for f in findings if f.rule == "blank.cells")
    if blanks:
        facts.add("blank_cells", {"blank_cells": blanks}, f"表格有 {blanks} 个单元格空白未填", problem=True,
                  topic="表格空白未填的问题")


def grounded_numbers(facts: list[Fact]) -> set[float]:
    """Every number a draft may print: the facts' values, signless (a sentence says 减少 12.5%)."""
    return {abs(float(v)) for fact in facts for v in fact.numbers.values()}
