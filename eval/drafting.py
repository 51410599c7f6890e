"""Drafting figures for the eval suite: section 五 drafted for every gold report from its gold figures
(its own section 五 hidden), the same agency's gold report of the year before as `previous`; offline (the
catalogue drafter, no model).

Against the real section 五 of every gold report that has one:
- topic recall: of the problem topics the published text names (the catalogue's cues on its problems
  part), the share the draft states — overall and from figures alone (without topics carried over from
  the agency's earlier text or added as common ones);
- false statements: a figure the draft read that the gold does not print so (a value, a blank total not
  recomputed from exactly its printed parts, a cell of a table the report lacks), a recomputed total the
  draft does not say was blank, a number no fact holds, a checker defect stated as a problem;
- numbers grounded, and the 8-gram overlap with the published text and with the agency's previous one.
ROUGE-L and character F1 against the gold section 五 are information only: a good draft says other
things than the office did, in other words.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from typing import Any

from service.agency import bodies
from service.check import check
from service.draft import Draft, draft, hide_own_section
from service.draft.catalogue import TOPICS, problems_part, topics_in
from service.draft.checks import numbers_in, overlap, plain
from service.report import report_from_flat

PROBLEMS = "problems_and_improvements"


def _letters(text: str) -> str:
    return "".join(ch for ch in plain(text) if ch.isalnum())


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over characters (the longest common subsequence), the usual choice for Chinese."""
    a, b = _letters(candidate), _letters(reference)
    if not a or not b:
        return 0.0
    previous = [0] * (len(b) + 1)
    for ch in a:
        row = [0]
        for j, other in enumerate(b, start=1):
            row.append(previous[j - 1] + 1 if ch == other else max(previous[j], row[j - 1]))
        previous = row
    lcs = previous[-1]
    return round(2 * lcs / (len(a) + len(b)), 4)


def char_f1(candidate: str, reference: str) -> float:
    a, b = Counter(_letters(candidate)), Counter(_letters(reference))
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return round(2 * precision * recall / (precision + recall), 4)


def _previous(gold: dict, golds: list[dict]) -> dict | None:
    """The same body's gold report of the year before (service/agency.py joins the gold set's names)."""
    body = bodies({g["meta"]["agency"] for g in golds})
    return next((g for g in golds if body[g["meta"]["agency"]] == body[gold["meta"]["agency"]]
                 and g["meta"]["year"] == gold["meta"]["year"] - 1), None)


_DEFECTS = ("数据不一致", "空白未填", "数字不符", "单元格")


def false_statements(result: Draft, gold: dict) -> list[str]:
    """What the draft states that the gold report does not print so (Chinese, one line each)."""
    fields, wrong = gold["fields"], []
    for figure in result.figures:
        if figure.key not in fields:
            wrong.append(f"{figure.key}：报告没有这一栏")
        elif figure.how == "printed" and fields[figure.key] != figure.value:
            wrong.append(f"{figure.key}：报告为 {fields[figure.key]}，草稿用 {figure.value}")
        elif figure.how == "summed" and (fields[figure.key] is not None or any(fields.get(p) is None for p in figure.parts)
                                         or abs(sum(fields[p] for p in figure.parts) - figure.value) > 1e-9):
            wrong.append(f"{figure.key}：重算的总计与报告所印各项不符")
        elif figure.how == "blank" and fields[figure.key] is not None:
            wrong.append(f"{figure.key}：报告为 {fields[figure.key]}，草稿当作空白")
    cited = {c.id for c in result.citations}
    for finding in result.findings:
        if finding.id in cited and finding.summed and "空白" not in finding.text:
            wrong.append(f"{finding.id}：用了重算的总计而未说明总计栏空白")
        if finding.id in cited and any(k not in fields for k in finding.keys):
            wrong.append(f"{finding.id}：引用了报告没有的栏目")
    for table, words in (("t3.", "新收|申请|办理结果|不予公开|不掌握"), ("t4.", "复议|诉讼")):
        if not any(k.startswith(table) for k in fields) and re.search(rf"({words})[^。；\n]*\d", result.text):
            wrong.append(f"报告没有{'表三' if table == 't3.' else '表四'}，草稿却说了它的数字")
    allowed = {abs(float(n)) for f in result.findings for n in f.numbers}
    wrong += [f"数字 {n} 无依据" for n in numbers_in(result.draft) if float(n) not in allowed]
    wrong += [f"把表格检查结果当作工作问题：{d}" for d in _DEFECTS if d in result.text]
    return wrong


def topic_recall(result: Draft, published: str) -> dict:
    wanted = topics_in(problems_part(published))
    stated = {p.topic for p in result.problems}
    from_figures = {p.topic for p in result.problems if p.basis == "figures"}
    return {"published_topics": sorted(wanted), "draft_topics": sorted(stated),
            "covered": sorted(wanted & stated), "covered_by_figures": sorted(wanted & from_figures)}


def evaluate_drafting(golds: list[dict]) -> dict:
    per_report: dict[str, dict[str, Any]]  # one row per report, its measures of several kinds
    seconds: list[float]
    per_report, numbers, grounded, seconds = {}, 0, 0, []
    for gold in golds:
        report, before = report_from_flat(gold), _previous(gold, golds)
        previous = report_from_flat(before) if before else None
        started = time.perf_counter()
        result = draft(report, previous, check(hide_own_section(report), previous))
        seconds.append(time.perf_counter() - started)
        allowed = {abs(float(n)) for f in result.findings for n in f.numbers}
        found = numbers_in(result.draft)
        numbers += len(found)
        grounded += sum(float(n) in allowed for n in found)
        reference = (gold.get("sections") or {}).get(PROBLEMS)
        previous_text = ((before or {}).get("sections") or {}).get(PROBLEMS)
        per_report[gold["id"]] = {
            "false_statements": false_statements(result, gold),
            "topics": topic_recall(result, reference) if reference else None,
            "overlap_published": overlap(result.draft, reference) if reference else None,
            "problems": [f"{p.name}（{p.basis}）" for p in result.problems],
            "checks_passed": all(c.passed for c in result.checks),
            "structure": next(c.passed for c in result.checks if c.name == "structure"),
            "length": len(_letters(result.draft)),
            "overlap_previous": overlap(result.draft, previous_text) if previous_text else None,
            "rouge_l": rouge_l(result.draft, reference) if reference else None,
            "char_f1": char_f1(result.draft, reference) if reference else None,
        }
    rows = per_report.values()
    cut = 0  # the same reports with tables 3 and 4 left out: nothing may be said about them
    for gold in golds:
        fields = {k: v for k, v in gold["fields"].items() if k.startswith("t2.")}
        if not any(v is not None for v in fields.values()):
            continue
        partial = {**gold, "fields": fields, "sections": {}}
        cut += len(false_statements(draft(report_from_flat(partial)), partial))

    def mean(key: str) -> float | None:
        values = [r[key] for r in rows if r[key] is not None]
        return round(statistics.mean(values), 4) if values else None

    overlaps = [r["overlap_previous"] for r in rows if r["overlap_previous"] is not None]
    scored = [r["topics"] for r in rows if r["topics"] and r["topics"]["published_topics"]]
    wanted = sum(len(t["published_topics"]) for t in scored)
    published_overlaps = [r["overlap_published"] for r in rows if r["overlap_published"] is not None]
    return {
        "with_section_five": sum(r["topics"] is not None for r in rows), "topics_published": wanted,
        "topic_recall": round(sum(len(t["covered"]) for t in scored) / wanted, 4) if wanted else None,
        "topic_recall_figures_only": round(sum(len(t["covered_by_figures"]) for t in scored) / wanted, 4) if wanted else None,
        "false_statements": sum(len(r["false_statements"]) for r in rows),
        "false_statements_without_tables_3_4": cut,
        "overlap_published_max": max(published_overlaps, default=None),
        "reports": len(per_report), "method": "fallback",
        "grounded_number_rate": round(grounded / numbers, 6) if numbers else None, "numbers": numbers,
        "structure_rate": round(sum(r["structure"] for r in rows) / max(len(rows), 1), 6),
        "all_checks_rate": round(sum(r["checks_passed"] for r in rows) / max(len(rows), 1), 6),
        "same_agency_pairs": len(overlaps), "overlap_previous_max": max(overlaps, default=None),
        "overlap_previous_mean": round(statistics.mean(overlaps), 4) if overlaps else None,
        "rouge_l_mean": mean("rouge_l"), "char_f1_mean": mean("char_f1"),
        "draft_ms_median": round(1000 * statistics.median(seconds), 2) if seconds else None,
        "catalogue_topics": len(TOPICS),
        "note": "ROUGE-L and character F1 against the gold section 五 are information, not targets; topic recall "
                "counts the catalogue topics the published problems part names (cues) that the draft states",
        "by_report": per_report,
    }
