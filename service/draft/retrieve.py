"""Past section 五 texts a draft learns from and must not copy: the agency's own earlier reports
(given by the caller, or found in the store) and those of agencies with similar problems (store).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from service.draft.facts import Fact
from service.report import Report

if TYPE_CHECKING:
    from service.store import Store

PROBLEMS = "problems_and_improvements"


@dataclass(frozen=True)
class Example:
    id: str  # P1, P2 … as the draft cites it
    kind: str  # "own" (the agency's earlier report) or "similar" (another agency)
    agency: str
    year: int | None
    text: str
    report_id: str | None = None


@dataclass
class Examples:
    own: list[Example] = field(default_factory=list)
    similar: list[Example] = field(default_factory=list)
    previous: Report | None = None  # last year's report when only the store had it

    def all(self) -> list[Example]:
        return self.own + self.similar

    def own_texts(self) -> dict[str, str]:
        return {f"{e.year or ''}年报告（{e.agency}）": e.text for e in self.own}


def own_history(report: Report, history: list[Report], store: Store | None) -> Examples:
    """The agency's earlier section 五 texts, newest first: the caller's reports, then the store's."""
    own: list[tuple[str, int | None, str, str | None]] = [
        (r.meta.agency or "", r.meta.year, r.sections.get(PROBLEMS) or "", None) for r in history]
    found = Examples()
    if store is not None:
        years = {r.meta.year for r in history}
        for hit in (h for h in store.past_reports(report) if h.own and h.year not in years):
            text = "\n".join(p.text for p in store.section_passages(hit.report_id))
            own.append((hit.agency, hit.year, text, hit.report_id))
            if found.previous is None and not history and report.meta.year and hit.year == report.meta.year - 1:
                found.previous = store.stored_report(hit.report_id)  # "上年" figures only from last year
    own = sorted((o for o in own if o[2]), key=lambda o: -(o[1] or 0))
    found.own = [Example(f"P{i}", "own", agency, year, text, rid)
                 for i, (agency, year, text, rid) in enumerate(own, start=1)]
    return found


def similar_agencies(report: Report, facts: list[Fact], store: Store, first_id: int) -> list[Example]:
    """Section 五 of other agencies whose findings read like this year's problems."""
    problems = [f.text for f in facts if f.problem] or [f.text for f in facts]
    return [Example(f"P{first_id + i}", "similar", p.agency, p.year, p.text, p.report_id)
            for i, p in enumerate(store.similar_problems(report, problems))]
