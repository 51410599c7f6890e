"""Drafting figures for the eval suite: section 五 drafted for every gold report from its gold figures
(its own section 五 hidden), the same agency's gold report of the year before as `previous`.

Grounded-number rate, overlap with the previous text and structure are what the draft must satisfy;
ROUGE-L and character F1 against the gold section 五 are information only: a good draft says other
things than the office did, in other words.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter

from service.agency import parse_agency
from service.check import check
from service.draft import draft, hide_own_section
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
    key, year = parse_agency(gold["meta"]["agency"]).key, gold["meta"]["year"]
    return next((g for g in golds if parse_agency(g["meta"]["agency"]).key == key and g["meta"]["year"] == year - 1), None)


def evaluate_drafting(golds: list[dict]) -> dict:
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
        previous_text = (before or {}).get("sections", {}).get(PROBLEMS)
        per_report[gold["id"]] = {
            "checks_passed": all(c.passed for c in result.checks),
            "structure": next(c.passed for c in result.checks if c.name == "structure"),
            "length": len(_letters(result.draft)),
            "overlap_previous": overlap(result.draft, previous_text) if previous_text else None,
            "rouge_l": rouge_l(result.draft, reference) if reference else None,
            "char_f1": char_f1(result.draft, reference) if reference else None,
        }
    rows = per_report.values()

    def mean(key: str) -> float | None:
        values = [r[key] for r in rows if r[key] is not None]
        return round(statistics.mean(values), 4) if values else None

    overlaps = [r["overlap_previous"] for r in rows if r["overlap_previous"] is not None]
    return {
        "reports": len(per_report), "method": "fallback",
        "grounded_number_rate": round(grounded / numbers, 6) if numbers else None, "numbers": numbers,
        "structure_rate": round(sum(r["structure"] for r in rows) / max(len(rows), 1), 6),
        "all_checks_rate": round(sum(r["checks_passed"] for r in rows) / max(len(rows), 1), 6),
        "same_agency_pairs": len(overlaps), "overlap_previous_max": max(overlaps, default=None),
        "overlap_previous_mean": round(statistics.mean(overlaps), 4) if overlaps else None,
        "rouge_l_mean": mean("rouge_l"), "char_f1_mean": mean("char_f1"),
        "draft_ms_median": round(1000 * statistics.median(seconds), 2) if seconds else None,
        "note": "ROUGE-L and character F1 against the gold section 五 are information, not targets",
        "by_report": per_report,
    }
