"""The offline draft: section 五 assembled from the facts without a model, labelled as such.

Problems are the facts marked `problem`, each cited; improvements pair each problem with what an
office typically does about it. The fixed words carry no figure, so every number comes from a fact.
Every fixed phrase has several wordings: `variant` picks them, so a draft that reads too much like
last year's text can be written again differently.
"""

from __future__ import annotations

from service.draft.checks import HEADINGS
from service.draft.facts import Fact

LABEL = "离线草稿：依据本年数据和检查结果自动拼写，请修改后使用"

_INTRO = (
    "对照本年数据和检查结果，工作中仍存在以下不足：",
    "从本年统计数据和年报检查情况看，还有以下方面需要改进：",
    "结合本年各项数据分析，政府信息公开工作仍有短板：",
)
_MEASURES = {
    "not_held": ("加强申请指引和答复说明，对不属于本机关掌握的信息告知申请人相关机关及联系方式",
                 "完善申请受理前的沟通机制，引导申请人向掌握信息的机关提出申请",
                 "在政府信息公开指南中细化本机关职责范围，减少误投申请"),
    "carried_forward": ("加快在办申请的办理进度，严格在法定期限内答复",
                        "建立在办申请台账，逐件跟踪办理时限，确保按期答复",
                        "对跨年度办理的申请加强督办，防止超期答复"),
    "disclosed": ("严格依法界定不予公开的范围，能公开的尽量公开，不能公开的充分说明理由",
                  "加强对不予公开、无法提供答复的审核把关，做到依据充分、说理清楚",
                  "坚持以公开为常态、不公开为例外，提升依申请公开的答复质量"),
    "review_litigation": ("规范依申请公开答复的程序和法律依据，降低被复议、诉讼纠错的风险",
                          "加强对被纠错案件的分析研判，完善答复文书模板和内部审核",
                          "聘请法律顾问参与疑难申请的研判，提升答复的规范性"),
    "check_errors": ("建立年报数据复核机制，发布前逐项核对表格勾稽关系",
                     "年报编制实行专人填报、专人复核，确保表格数据前后一致",
                     "对照年报模板逐项校验统计口径，杜绝数据错填漏填"),
    "text_mismatch": ("核对正文数字与统计表格，确保前后一致",
                      "年报正文引用的数据统一取自统计表格，发布前交叉核对",
                      "完善年报审核流程，重点核对正文与表格中的数字"),
    "blank_cells": ("按模板要求填写统计表格，没有数量的栏目填写 0",
                    "规范统计表格填报，不留空白栏目",
                    "对照模板逐栏填报，确保统计表格完整"),
}
_GENERAL_PROBLEMS = (
    "政府信息公开工作的主动性和精细化水平仍需提升",
    "信息公开工作的规范化、标准化程度与群众期待相比仍有差距",
    "政务公开工作的深度和广度仍需进一步拓展",
)
_GENERAL_MEASURES = (
    ("继续落实《中华人民共和国政府信息公开条例》，加强业务培训和监督检查",
     "加强政府信息公开工作人员的业务培训，提升依法公开的能力",
     "健全政府信息公开工作机制，压实各科室的公开责任"),
    ("围绕群众关切加大主动公开力度，提升政策解读的针对性和可读性",
     "丰富政策解读形式，及时回应社会关切",
     "优化政府网站信息公开专栏，方便公众查找和获取信息"),
)


def _pick(options: tuple[str, ...], variant: int, offset: int = 0) -> str:
    return options[(variant + offset) % len(options)]


def _cite(fact: Fact) -> str:
    return f"{fact.text}[{fact.id}]"


def compose(facts: list[Fact], variant: int = 0) -> str:
    problems = [f for f in facts if f.problem]
    lines = [HEADINGS[0], f"{_cite(facts[0])}。{_pick(_INTRO, variant)}"]
    if problems:
        lines += [f"{i}. {_cite(f)}。" for i, f in enumerate(problems, start=1)]
    else:
        lines.append(f"1. {_pick(_GENERAL_PROBLEMS, variant)}。")
    lines.append(HEADINGS[1])
    items = [f"针对{f.topic}[{f.id}]，{_pick(_MEASURES[f.kind], variant, i)}"
             for i, f in enumerate(problems) if f.kind in _MEASURES]
    items += [_pick(options, variant, i) for i, options in enumerate(_GENERAL_MEASURES)]
    lines += [f"{i}. {item}。" for i, item in enumerate(items, start=1)]
    return "\n".join(lines)


VARIANTS = max(len(o) for o in (_INTRO, _GENERAL_PROBLEMS, *_MEASURES.values(), *_GENERAL_MEASURES))
