"""Draft section 五 (存在的主要问题及改进情况) from this year's facts. Public entry point: `draft`.

Without a configured model the draft is assembled deterministically from the facts and labelled
as such; every sentence cites the facts it states, so every number in it is grounded.
"""

from __future__ import annotations

from pydantic import BaseModel

from service.check import Finding
from service.draft.facts import Fact, collect
from service.report import Report

__all__ = ["Draft", "Fact", "draft"]

# What an office typically does about each kind of problem; no figure appears in these words.
_MEASURES = {
    "not_held": "加强申请指引和答复说明，对不属于本机关掌握的信息告知申请人相关机关及联系方式",
    "carried_forward": "加快在办申请的办理进度，严格在法定期限内答复",
    "review_litigation": "规范依申请公开答复的程序和法律依据，降低被复议、诉讼纠错的风险",
    "check_errors": "建立年报数据复核机制，发布前逐项核对表格勾稽关系",
    "text_mismatch": "核对正文数字与统计表格，确保前后一致",
    "blank_cells": "按模板要求填写统计表格，没有数量的栏目填写 0",
}
_GENERAL_PROBLEM = "政府信息公开工作的主动性和精细化水平仍需提升"
_GENERAL_MEASURE = "继续落实《中华人民共和国政府信息公开条例》，加强业务培训和监督检查"


class Draft(BaseModel):
    text: str
    mode: str  # "offline" (deterministic) or "llm"
    label: str
    facts: list[Fact]


def draft(report: Report, previous: Report | None = None, findings: list[Finding] = ()) -> Draft:
    facts = collect(report, previous, findings)
    problems = [f for f in facts if f.problem]
    lines = ["（一）存在的主要问题"]
    if problems:
        lines += [f"{i}. {f.sentence}[{f.id}]。" for i, f in enumerate(problems, start=1)]
    else:
        context = facts[0]
        lines.append(f"1. {context.sentence}[{context.id}]，{_GENERAL_PROBLEM}。")
    lines.append("（二）改进情况")
    measures = [(f, _MEASURES[f.kind]) for f in problems if f.kind in _MEASURES]
    lines += [f"{i}. 针对{f.sentence.split('，')[0]}[{f.id}]，{measure}。" for i, (f, measure) in enumerate(measures, 1)]
    lines.append(f"{len(measures) + 1}. {_GENERAL_MEASURE}。")
    return Draft(text="\n".join(lines), mode="offline", label="离线草稿：未配置大模型，依据本年数据和检查结果自动生成，请修改后使用",
                 facts=facts)
