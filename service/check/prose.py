"""Rule family text.*: figures the prose states against the tables.

Each pattern reads one kind of statement ("共收到政府信息公开申请21件") and names the table cells
whose sum it should equal. Only the narrative sections are read, never the tables' own text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from service.check.model import Finding
from service.registry import Column, Template
from service.report import Report
from service.textnorm import halfwidth

_PROSE_SECTIONS = ("general", "problems_and_improvements", "other_matters")
_NUM = r"(\d+(?:,\d{3})*(?:\.\d+)?)"
_GAP = r"[^。；;，,\d]{0,14}?"


@dataclass(frozen=True)
class _Statement:
    rule: str
    pattern: re.Pattern
    keys: tuple[str, ...]
    what: str
    zero: bool = False  # the pattern states "none", so the figure is 0


_STATEMENTS = (
    _Statement("text.requests", re.compile(rf"(?:收到|受理|新收){_GAP}申请(?:共|总计|合计)?{_NUM}(?:件|个|条)"),
               ("t3.new_received.total",), "新收申请数"),
    _Statement("text.requests", re.compile(r"(?:无|未(?:收到|受理))[^。；，,]{0,6}(?:依申请公开|政府信息公开申请)"),
               ("t3.new_received.total",), "新收申请数", zero=True),
    _Statement("text.carried_forward", re.compile(rf"结转(?:至|到)?下(?:一)?年度?(?:继续办理)?{_NUM}件"),
               ("t3.carried_forward.total",), "结转下年度件数"),
    _Statement("text.review", re.compile(rf"行政复议(?:案件)?(?:共)?{_NUM}(?:起|件|宗)"),
               ("t4.review.total",), "行政复议件数"),
    _Statement("text.litigation", re.compile(rf"行政诉讼(?:案件)?(?:共)?{_NUM}(?:起|件|宗)"),
               ("t4.litigation_direct.total", "t4.litigation_after_review.total"), "行政诉讼件数"),
)
_FEES = re.compile(rf"收(?:取)?(?:[^。；，,\d]{{0,8}}?)费(?:用)?(?:共|合计)?{_NUM}(万元|元)")
_NO_FEES = re.compile(r"(?:未|没有|无)(?:收取|发生)[^。；]{0,8}费")


def check_prose(report: Report, template: Template) -> list[Finding]:
    values = report.values()
    findings = []
    for section in _PROSE_SECTIONS:
        text = re.sub(r"\s+", "", halfwidth(report.sections.get(section) or ""))
        for statement in _STATEMENTS:
            for match in statement.pattern.finditer(text):
                stated = Fraction(0) if statement.zero else Fraction(match.group(1).replace(",", ""))
                findings += _compare(statement.rule, statement.keys, statement.what, stated, match.group(0), values)
        findings += _fees(text, values, template)
    return findings


def _fees(text: str, values, template: Template) -> list[Finding]:
    key = "t2.fees.amount"
    if key not in template.fields:
        return []
    column = template.fields[key].column
    assert isinstance(column, Column)  # a column of table 2
    unit = column.unit  # the table's unit, 万元 in the 2021 template
    out = []
    for match in _FEES.finditer(text):
        stated = Fraction(match.group(1).replace(",", ""))
        if match.group(2) != unit:
            stated = stated / 10000 if match.group(2) == "元" else stated * 10000
        out += _compare("text.fees", (key,), f"收费金额（{unit}）", stated, match.group(0), values)
    for match in _NO_FEES.finditer(text):
        out += _compare("text.fees", (key,), f"收费金额（{unit}）", Fraction(0), match.group(0), values)
    return out


def _compare(rule, keys, what, stated: Fraction, quote: str, values) -> list[Finding]:
    if not all(k in values for k in keys):
        return []
    table = sum(Fraction(str(values[k] or 0)) for k in keys)
    if table == stated:
        return []
    show = lambda f: int(f) if f.denominator == 1 else float(f)
    return [Finding(rule=rule, severity="warning", fields=list(keys),
                    numbers={"stated": show(stated), "table": show(table)},
                    message=f"正文“{quote}”所述{what} {show(stated)} 与表格中的 {show(table)} 不一致")]
