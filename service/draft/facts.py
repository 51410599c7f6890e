"""Facts a section 五 draft may state: this year's printed figures (`figures.Figures`), changes since
last year, and shares whose base the report prints.

Each fact has an id (F1, F2 …), its numbers, the report fields it reads (`keys`) and one Chinese
sentence; a total recomputed from its printed parts says so in the sentence. A table the report
lacks gives no fact; a rate is stated only where its base is printed (or recomputed). The checker's
findings are not facts of the office's work and never become problems. Every number a draft states
comes from here: the draft checks compare the draft's numbers against `grounded_numbers`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from service.check import Finding
from service.draft.figures import Figures
from service.registry import registry
from service.report import Report


class Fact(BaseModel):
    id: str
    kind: str
    numbers: dict[str, int | float]
    text: str
    problem: bool = False  # set when a problem pattern of the catalogue cites this fact
    topic: str = ""  # the problem in a few words and no figure (the catalogue's topic when `problem`)
    keys: list[str] = Field(default_factory=list)  # the report fields it reads
    summed: list[str] = Field(default_factory=list)  # of those, totals printed blank and recomputed
    label: str = ""  # what the fact is about when its kind does not say (行政复议 …, the main 不予公开 reason)


class NoFiguresError(ValueError):
    """A report without a single figure: nothing to draft from. The message is Chinese."""

    message = "报告中没有任何统计数字（表二至表四均为空或未识别），无法依据数据起草第五部分"


def _pct(part: float, whole: float) -> float:
    return round(100 * part / whole, 1)


def _summed_note(keys: list[str]) -> str:
    by_applicant = all(k.startswith("t3.") and k.endswith(".total") and not k.startswith("t3.total.") for k in keys)
    return f"（总计栏空白，按{'各类申请人' if by_applicant else '各分项'}的数字相加）"


class _Facts:
    def __init__(self, figures: Figures) -> None:
        self.items: list[Fact] = []
        self.figures = figures

    def add(self, kind: str, numbers: dict, text: str, keys: tuple[str, ...] = ()) -> Fact:
        summed = [k for k in keys if self.figures.summed(k)]
        fact = Fact(id=f"F{len(self.items) + 1}", kind=kind, numbers=numbers,
                    text=text + (_summed_note(summed) if summed else ""), keys=list(keys), summed=summed)
        self.items.append(fact)
        return fact


def _has_numbers(report: Report, table: str) -> bool:
    return any(f.value is not None for k, f in report.fields.items() if k.startswith(f"{table}."))


def collect(report: Report, previous: Report | None = None, findings: Sequence[Finding] = (),
            figures: Figures | None = None) -> list[Fact]:
    """`findings` are accepted for the callers' sake and not used: a checker's defect is no work problem."""
    if not any(f.value is not None for f in report.fields.values()):
        raise NoFiguresError(NoFiguresError.message)
    figures = figures or Figures(report)
    facts = _Facts(figures)
    if _has_numbers(report, "t3"):
        _requests(report, previous, facts)
        _replies(report, facts)
    if _has_numbers(report, "t4"):
        _review_litigation(figures, Figures(previous), facts)
    if _has_numbers(report, "t2"):
        _table2(report, facts)
    return facts.items


def _requests(report: Report, previous: Report | None, facts: _Facts) -> None:
    fig, year = facts.figures, report.meta.year
    received = fig.value("t3.new_received.total")
    opening = f"{year}年" if year else "本年"
    numbers = {"year": year} if year else {}
    if received is not None:
        before = Figures(previous).figure("t3.new_received.total")
        if before is not None:
            change = _pct(received - before.value, before.value) if before.value else None
            trend = ("，与上年持平" if received == before.value else
                     f"，{'增加' if received > before.value else '减少'} {abs(change)}%" if change is not None else "")
            facts.add("requests", {**numbers, "this_year": received, "last_year": before.value,
                                   **({"change_percent": change} if change is not None else {})},
                      f"{opening}新收政府信息公开申请 {received} 件，上年 {before.value} 件{trend}",
                      ("t3.new_received.total",))
        else:
            facts.add("requests", {**numbers, "this_year": received},
                      f"{opening}新收政府信息公开申请 {received} 件", ("t3.new_received.total",))
    forward = fig.count("t3.carried_forward.total")
    if forward:
        facts.add("carried_forward", {"carried_forward": forward, **({"received": received} if received else {})},
                  f"结转下年度继续办理 {forward} 件", ("t3.carried_forward.total",))


def _replies(report: Report, facts: _Facts) -> None:
    fig = facts.figures
    replied = fig.value("t3.total.total")  # the base of every share: printed or recomputed, else no share
    base = {"replied": replied} if replied else {}

    def share(n: float) -> dict:
        return {"percent": _pct(n, replied)} if replied else {}

    def of(n: float) -> str:
        return f"，占办理结果总数 {replied} 件的 {_pct(n, replied)}%" if replied else ""

    granted, partial = fig.count("t3.granted.total"), fig.count("t3.partially_granted.total")
    if granted is not None or partial is not None:
        granted, partial = granted or 0, partial or 0
        facts.add("disclosed", {"granted": granted, "partially_granted": partial, **base, **share(granted + partial)},
                  f"予以公开 {granted} 件、部分公开 {partial} 件{of(granted + partial)}",
                  ("t3.granted.total", "t3.partially_granted.total", *(("t3.total.total",) if replied else ())))
    rows = registry().template(report.meta.template).table3_rows
    keys = tuple(f"t3.{r.key}.total" for r in rows)
    base_key = ("t3.total.total",) if replied else ()
    not_held = fig.count("t3.unavailable.not_held.total")
    if not_held:
        facts.add("not_held", {"not_held": not_held, **base, **share(not_held)},
                  f"因本机关不掌握相关政府信息无法提供 {not_held} 件{of(not_held)}",
                  ("t3.unavailable.not_held.total", *base_key))
    withheld = {r.short: (n, f"t3.{r.key}.total") for r in rows if r.group == "withheld"
                and f"t3.{r.key}.total" in keys and (n := fig.count(f"t3.{r.key}.total"))}
    if withheld:
        total = sum(n for n, _ in withheld.values())
        top = max(withheld, key=lambda label: withheld[label][0])
        facts.add("withheld", {"withheld": total, **base, **share(total), **{label: n for label, (n, _) in withheld.items()}},
                  f"不予公开 {total} 件{of(total)}，其中" + "，".join(f"{label} {n} 件" for label, (n, _) in withheld.items()),
                  (*(k for _, k in withheld.values()), *base_key)).label = top
    unclear = {k: n for k in ("t3.unavailable.needs_compilation.total", "t3.unavailable.still_unclear.total")
               if (n := fig.count(k))}
    if unclear:
        total = sum(unclear.values())
        facts.add("unclear", {"unclear": total, **base, **share(total)},
                  f"因没有现成信息需另行制作或补正后申请内容仍不明确而无法提供 {total} 件{of(total)}",
                  (*unclear, *base_key))
    petitions = fig.count("t3.not_processed.petition_complaint.total")
    if petitions:
        facts.add("petitions", {"petitions": petitions, **base, **share(petitions)},
                  f"属于信访举报投诉类申请不予处理 {petitions} 件{of(petitions)}",
                  ("t3.not_processed.petition_complaint.total", *base_key))


def _review_litigation(fig: Figures, before: Figures, facts: _Facts) -> None:
    seen = False
    for group in registry().table4_groups:
        key, corrected_key = f"t4.{group.key}.total", f"t4.{group.key}.corrected"
        total = fig.value(key)
        if total is None:
            continue
        seen = True
        if not total:
            continue
        corrected = fig.count(corrected_key) or 0
        numbers = {"total": total, "corrected": corrected}
        text = f"{group.label} {total} 件，其中结果纠正 {corrected} 件"
        last = before.figure(key)
        if last is not None:
            numbers["last_year"] = last.value
            text += f"（上年 {last.value} 件）"
        facts.add("review_litigation", numbers, text, (key, corrected_key)).label = group.label
    if seen and not any(f.kind == "review_litigation" for f in facts.items):
        facts.add("no_disputes", {}, "全年未发生政府信息公开行政复议、行政诉讼",
                  tuple(f"t4.{g.key}.total" for g in registry().table4_groups))


def _table2(report: Report, facts: _Facts) -> None:
    fig = facts.figures
    if report.meta.template == "2019":
        made, published = fig.value("t2.normative_documents.new_made"), fig.value("t2.normative_documents.new_published")
        total = fig.value("t2.normative_documents.total_published")
        if made is not None and published is not None:
            facts.add("normative", {"made": made, "published": published, **({"in_force": total} if total is not None else {})},
                      f"本年新制作规范性文件 {made} 件、新公开 {published} 件"
                      + (f"，对外公开总数 {total} 件" if total is not None else ""),
                      ("t2.normative_documents.new_made", "t2.normative_documents.new_published",
                       "t2.normative_documents.total_published"))
    else:
        issued, in_force = fig.value("t2.normative_documents.issued"), fig.value("t2.normative_documents.in_force")
        if issued is not None:
            facts.add("normative", {"made": issued, "published": issued, **({"in_force": in_force} if in_force is not None else {})},
                      f"本年制发行政规范性文件 {issued} 件" + (f"，现行有效 {in_force} 件" if in_force is not None else ""),
                      ("t2.normative_documents.issued", "t2.normative_documents.in_force"))
    decisions = {label: (n, key) for label, key in (("行政许可", "t2.licensing.decisions"), ("行政处罚", "t2.penalty.decisions"),
                                                   ("行政强制", "t2.coercion.decisions"))
                 if (n := fig.value(key))}
    if decisions:
        facts.add("enforcement", {"decisions": sum(n for n, _ in decisions.values()),
                                  **{label: n for label, (n, _) in decisions.items()}},
                  "本年作出" + "、".join(f"{label}决定 {n} 件" for label, (n, _) in decisions.items()),
                  tuple(k for _, k in decisions.values()))
    amount = fig.value("t2.fees.amount")
    if amount:
        facts.add("fees", {"amount": amount}, f"行政事业性收费金额 {amount} 万元", ("t2.fees.amount",))


def grounded_numbers(facts: list[Fact]) -> set[float]:
    """Every number a draft may print: the facts' values, signless (a sentence says 减少 12.5%)."""
    return {abs(float(v)) for fact in facts for v in fact.numbers.values()}
