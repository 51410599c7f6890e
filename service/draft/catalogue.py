"""The catalogue of section 五 problems, in one place: what real reports name as their problems, the
figures that evidence each, how it is put, and what answers it.

- `TOPICS`: the problems published section 五 texts name (政策解读, 依申请答复质量, 队伍建设 …), each
  with the words by which a published text names it (`cues`: the eval's topic recall, and the topics
  of the agency's own earlier text) and a wording with no figure (`plain`, `measures`) for a topic
  carried over from that earlier text or added when the figures evidence too little;
- `PATTERNS`: a problem evidenced by this year's figures — `when` reads the facts (by kind) and
  returns the fact that evidences it or None; `problems` are its wordings with that fact's numbers as
  placeholders; `measures` answer it.

Wordings follow the register of real reports (一是…二是…, 有待/仍需, 进一步) in words of their own:
the n-gram check keeps a draft off every earlier text of the agency.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.draft.facts import Fact


@dataclass(frozen=True)
class Topic:
    id: str
    name: str  # for "针对…" and the eval
    cues: tuple[str, ...]
    plain: tuple[str, ...]  # the problem without a figure
    measures: tuple[str, ...]


@dataclass(frozen=True)
class Pattern:
    id: str
    topic: str
    when: Callable[[dict[str, Fact]], Fact | None]
    problems: tuple[str, ...]  # str.format placeholders: the evidencing fact's numbers
    measures: tuple[str, ...] = ()  # the topic's when empty


TOPICS = {t.id: t for t in (
    Topic("guidance", "申请引导和告知", ("不掌握", "申请指引", "公开指南", "引导", "误投", "告知"),
          ("部分申请人对各机关职责和信息公开渠道不够了解，申请前的指引还不够到位",
           "依申请公开的前端指引偏弱，申请人找准掌握信息的机关还有困难",
           "政府信息公开指南对申请渠道和受理范围的说明还不够清楚"),
          ("修订政府信息公开指南，写明本机关职责范围、受理渠道和常见申请的办理方式，从源头减少误投",
           "对申请所涉信息不属本机关掌握的，在答复中写明掌握该信息的机关及联系方式，做到告知到位",
           "在受理环节加强与申请人的沟通，帮助其明确申请内容和对应的公开义务机关",
           "梳理误投申请涉及的事项，编写常见信息归属一览表，在申请页面提示",
           "对反复出现的误投事项，会同相关机关明确分工，统一答复口径")),
    Topic("reply_quality", "依申请公开答复质量", ("答复质量", "答复文书", "依申请公开工作规范", "依申请办件", "答复风险",
                                         "研判能力", "纠错", "复议", "诉讼", "依申请公开答复"),
          ("依申请公开答复的说理和法律适用还不够严谨，文书格式和援引依据不够统一",
           "复杂申请的研判能力还有欠缺，答复口径不够统一",
           "依申请公开办理的合法性审查还不够细致"),
          ("健全依申请公开答复的会商和法律审核机制，复杂申请由法律顾问参与研判",
           "整理典型案例，更新答复文书模板，统一答复的格式、依据和说理",
           "对每件复议、诉讼案件复盘答复环节，查找程序和说理上的短板并及时整改")),
    Topic("disclosure_scope", "公开属性界定", ("属性", "不公开为例外", "不予公开", "公开范围"),
          ("对政府信息公开属性的认定还不够精准，不予公开的理由说明还需更加充分",),
          ("严格对照条例规定的情形认定不予公开，逐件写明依据和理由，能部分公开的作区分处理后公开",
           "严格把握不予公开的法定情形，拟不予公开的申请实行集体审核",
           "定期复核不予公开的答复，对已不再属于不予公开情形的信息及时转为公开")),
    Topic("timeliness", "办理时效", ("时效", "期限", "超期", "按时", "及时答复"),
          ("部分申请办理周期较长，按期答复的管理还需加强",),
          ("建立依申请公开办理台账，逐件跟踪答复期限，临近期限的及时提醒和督办",
           "对需要延期答复的申请严格履行审批和告知程序，结转的申请明确办结时间",
           "优化内部流转环节，缩短征求意见和会签的时间，确保在法定期限内答复")),
    Topic("proactive", "主动公开的深度和广度", ("主动公开", "主动性", "公开力度", "深度和广度", "深度不足", "力度不够",
                                          "应公开尽公开", "公开内容"),
          ("主动公开的内容还不够全面，公开的深度和广度有待拓展",
           "主动公开工作的主动性还不够强，部分应当公开的信息发布不够及时"),
          ("全面梳理本机关职责范围内的政府信息，动态更新主动公开目录，做到应公开尽公开",
           "把制发的文件逐件标注公开属性，属于主动公开的在规定时限内发布",
           "围绕本机关的中心工作和群众关心的事项，扩大主动公开的范围")),
    Topic("interpretation", "政策解读", ("解读",),
          ("政策解读的形式还比较单一，通俗易懂的解读产品不多",
           "政策解读与文件发布的衔接还不够紧密，解读的针对性有待提高",
           "政策解读的通俗化、多样化程度还需提高"),
          ("坚持政策文件与解读材料同步起草、同步审核、同步发布",
           "运用图表图解、短视频、问答等形式开展解读，让政策更易懂好用",
           "围绕企业和群众关心的条款开展精准解读，跟踪解读后的反馈并作回应",
           "请文件起草科室负责人参与解读，用案例讲清适用对象、办理条件和享受方式",
           "建立解读材料审核清单，解读未同步准备的文件不予印发")),
    Topic("key_areas", "重点领域信息公开", ("重点领域", "执法", "行政许可", "行政处罚", "重大项目", "双随机"),
          ("重点领域信息公开还不够深入，执法信息的集中公开有待加强",),
          ("按照行政执法公示要求，集中公开许可、处罚等执法决定，方便公众查询",
           "对重点领域信息实行专栏管理，统一公开标准，提升信息的完整性和可查性",
           "定期核对执法决定与公开信息，做到执法结果依法及时公开")),
    Topic("staff", "队伍建设", ("队伍", "人员", "兼职", "培训", "业务水平", "干部", "工作人员"),
          ("政务公开工作力量和业务能力与新的工作要求相比还有差距",
           "承办公开工作的同志在业务衔接和能力提升上还需加强"),
          ("加强政务公开业务培训，重点学习条例和依申请公开办理规范，提升工作人员的业务能力",
           "配齐配强政务公开工作人员，建立岗位交接和业务传帮带制度",
           "把政务公开纳入干部教育培训内容，定期组织案例研讨和业务交流")),
    Topic("platforms", "公开平台和渠道", ("新媒体", "网站", "栏目", "平台", "渠道", "载体"),
          ("政府网站公开专栏的内容更新和栏目维护还不够及时",
           "政务新媒体的公开功能发挥不够，公开渠道还需拓展",
           "公开平台的信息检索和查阅还不够便捷"),
          ("定期巡查政府网站公开专栏，及时更新内容、清理过时信息",
           "发挥政务新媒体传播快、覆盖广的作用，与政府网站同步发布重要信息",
           "优化公开专栏的分类和检索功能，方便公众查找信息")),
    Topic("participation", "公众参与和互动回应", ("互动", "公众参与", "意见征集", "联系群众", "社会关切", "预公开", "决策公开"),
          ("公众参与和政民互动的渠道还不够畅通，回应社会关切的及时性有待提高",
           "重大决策公开征求意见的形式较少，公众参与度还不高"),
          ("拓展意见征集渠道，对重大决策事项公开征求意见并反馈采纳情况",
           "畅通留言咨询等互动渠道，对公众关切做到及时回应",
           "通过政府开放日、座谈会等形式，听取群众对公开工作的意见建议")),
    Topic("fees", "收费信息公开", ("收费",),
          ("行政事业性收费信息的公开还需更加完整",),
          ("及时公开收费项目、依据、标准和收费情况，接受社会监督",
           "对照收费目录清单逐项核对公开内容，确保收费信息准确完整",
           "在办事指南中写明收费事项，方便群众事前了解")),
)}


def _share(kind: str, minimum_percent: float, minimum: int, count: str) -> Callable[[dict[str, Fact]], Fact | None]:
    """The fact of `kind` when its share of all replies is at least `minimum_percent` and its count `minimum`."""
    def when(facts: dict[str, Fact]) -> Fact | None:
        fact = facts.get(kind)
        if fact and fact.numbers.get(count, 0) >= minimum and fact.numbers.get("percent", 0) >= minimum_percent:
            return fact
        return None
    return when


def _first(kind: str, test: Callable[[dict], bool]) -> Callable[[dict[str, Fact]], Fact | None]:
    return lambda facts: facts[kind] if kind in facts and test(facts[kind].numbers) else None


def _corrected(facts: dict[str, Fact]) -> Fact | None:
    return next((f for f in facts.values() if f.kind == "review_litigation" and f.numbers["corrected"] > 0), None)


def _disputes(facts: dict[str, Fact]) -> Fact | None:
    return next((f for f in facts.values() if f.kind == "review_litigation"), None)


# In priority order: a correction in 复议/诉讼 is the strongest evidence; then 规范性文件 (what real
# section 五 texts name most often is 政策解读); then the shape of the replies; then volume and the rest.
PATTERNS: tuple[Pattern, ...] = (
    Pattern("corrected", "reply_quality", _corrected, (
        "依申请公开答复的合法性和规范性还需提升，{topic} {total} 件中结果被纠正 {corrected} 件",
        "部分答复经不起复议、诉讼的审查，{topic}结果纠正 {corrected} 件（共 {total} 件）",
        "答复的程序和说理仍有薄弱环节，{topic} {total} 件，其中 {corrected} 件结果被纠正")),
    Pattern("normative_unpublished", "proactive", _first("normative", lambda n: n["published"] < n["made"]), (
        "主动公开还不够及时全面，本年新制作规范性文件 {made} 件，新公开 {published} 件",
        "部分规范性文件未及时主动公开，新制作 {made} 件中仅公开 {published} 件")),
    Pattern("normative_issued", "interpretation", _first("normative", lambda n: n["made"] >= 1), (
        "本年制发规范性文件 {made} 件，配套政策解读的形式和深度还跟不上，通俗化解读不多",
        "政策解读还需加强，本年出台的 {made} 件规范性文件解读形式较为单一",
        "围绕本年 {made} 件规范性文件开展的解读针对性还不够强，群众关心的条款讲得不够透")),
    Pattern("not_held", "guidance", _share("not_held", 25.0, 3, "not_held"), (
        "申请人对各机关职责了解不够，因本机关不掌握相关信息而无法提供的有 {not_held} 件，占办理结果的 {percent}%",
        "申请指向不准的情况较多，{not_held} 件申请所涉信息本机关并不掌握，占全部答复的 {percent}%",
        "依申请公开的前端引导不足，本机关不掌握相关信息的答复达 {not_held} 件，占比 {percent}%")),
    Pattern("withheld", "disclosure_scope", _share("withheld", 10.0, 3, "withheld"), (
        "公开属性的认定还需更加审慎，不予公开的答复有 {withheld} 件，占办理结果的 {percent}%",
        "不予公开的答复占比偏高，达 {percent}%（{withheld} 件），理由说明和依据援引还需更加充分",
        "对不予公开情形的把握还不够精准，全年不予公开 {withheld} 件，占全部答复的 {percent}%")),
    Pattern("petitions", "guidance", _share("petitions", 10.0, 3, "petitions"), (
        "以信息公开申请形式反映信访、投诉诉求的较多，此类申请 {petitions} 件，占办理结果的 {percent}%，分类引导还不够",
        "部分群众通过公开申请渠道提出信访举报投诉，共 {petitions} 件（占 {percent}%），渠道分流和告知仍需加强")),
    Pattern("unclear", "guidance", _share("unclear", 10.0, 3, "unclear"), (
        "与申请人的沟通还不够充分，因无现成信息或申请内容不明确而无法提供的有 {unclear} 件，占 {percent}%",
        "申请内容不清、所需信息需另行制作的申请有 {unclear} 件（占 {percent}%），受理环节的释明工作还需加强")),
    Pattern("requests_rise", "staff", _first("requests", lambda n: n.get("change_percent", 0) >= 20 and n["this_year"] >= 10), (
        "依申请公开办理量明显增长，新收申请 {this_year} 件，较上年增加 {change_percent}%，办理力量和专业能力面临压力",
        "申请数量由上年的 {last_year} 件增至 {this_year} 件，现有人员力量应对复杂申请还有不足")),
    Pattern("requests_many", "staff", _first("requests", lambda n: "last_year" not in n and n["this_year"] >= 200), (
        "全年新收申请 {this_year} 件，办理任务较重，工作力量和专业化水平还需跟上",
        "依申请公开工作量大，全年新收申请 {this_year} 件，承办人员的业务能力有待进一步提升")),
    Pattern("carried_forward", "timeliness", _first("carried_forward", lambda n: n["carried_forward"] >= 3), (
        "部分申请未能在本年度办结，结转下年度继续办理 {carried_forward} 件，办理效率有待提高",
        "办理时效还需提升，仍有 {carried_forward} 件申请结转至下一年度办理")),
    Pattern("normative_none", "proactive", _first("normative", lambda n: n["made"] == 0 and n.get("in_force", 0) == 0), (
        "主动公开的政策类信息较少，本年制发规范性文件 {made} 件，公开内容还不够丰富",)),
    Pattern("enforcement", "key_areas", _first("enforcement", lambda n: n["decisions"] >= 50), (
        "本年作出各类许可、处罚、强制决定共 {decisions} 件，执法信息的集中公开和便捷查询还需加强",
        "执法决定数量较多（共 {decisions} 件），重点领域执法信息公开的完整性和时效性有待提升")),
    Pattern("fees", "fees", _first("fees", lambda n: n["amount"] > 0), (
        "本年收取行政事业性收费 {amount} 万元，收费项目、依据和标准的公开还需更加完整",)),
    Pattern("zero_requests", "participation", _first("requests", lambda n: n["this_year"] == 0), (
        "全年新收政府信息公开申请 {this_year} 件，公众对依申请公开渠道的知晓度和参与度还不高",
        "依申请公开渠道的宣传还不够，本年新收申请 {this_year} 件")),
    Pattern("disputes", "reply_quality", _disputes, (
        "依申请公开答复的说理还需经得起审查，本年发生{topic} {total} 件",
        "答复工作的法律风险防范还需加强，本年{topic} {total} 件")),
)

STANDING = ("interpretation", "staff", "platforms", "participation", "proactive")  # no figure can evidence these


def topics_in(text: str) -> set[str]:
    """The catalogue's topics a section 五 text names."""
    return {t.id for t in TOPICS.values() if any(cue in text for cue in t.cues)}


def problems_part(text: str) -> str:
    """The problems of a section 五 text: what comes before its improvements begin."""
    for marker in ("（二）", "改进措施", "改进情况", "整改措施", "下一步", "针对上述问题", "针对存在问题", "将采取以下措施",
                   "将重点从以下"):
        at = text.find(marker, 10)
        if at > 0:
            text = text[:at]
    return text
