"""Section 五 drafts on every gold report, its own section 五 hidden: numbers grounded, no copying of the
same agency's previous text, structure and length; the checks themselves; bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from service.agency import bodies
from service.check import check
from service.draft import NoFiguresError, draft, fallback, hide_own_section
from service.draft.checks import MAX_OVERLAP, drop_ungrounded, numbers_in, overlap
from service.draft.facts import collect, grounded_numbers
from service.pipeline import extract_bytes
from service.report import FieldValue, Meta, Report
from tests.conftest import gold_report_dirs, load_gold, source_path

NIANBAO = Path(sys.executable).parent / "nianbao"
PROBLEMS = "problems_and_improvements"


@cache
def extracted(report_dir: Path) -> Report:
    path = source_path(report_dir)
    return extract_bytes(path.read_bytes(), path.name)


def previous_dir(report_dir: Path) -> Path | None:
    """The same agency's gold report of the year before, if the gold set has one."""
    meta = load_gold(report_dir)["meta"]
    others = {other: load_gold(other)["meta"] for other in gold_report_dirs()}
    body = bodies({m["agency"] for m in others.values()})
    return next((other for other, m in others.items()
                 if body[m["agency"]] == body[meta["agency"]] and m["year"] == meta["year"] - 1), None)


def test_the_gold_set_has_same_agency_pairs() -> None:
    pairs = {d.name for d in gold_report_dirs() if previous_dir(d)}
    assert {"huaian-hongze-district-2024", "pingtan-experimental-zone-2020"} <= pairs


@pytest.fixture(params=gold_report_dirs(), ids=lambda p: p.name)
def drafted(request):
    report_dir = request.param
    report = extracted(report_dir)
    before = previous_dir(report_dir)
    previous = extracted(before) if before else None
    result = draft(report, previous, check(hide_own_section(report), previous))
    return report_dir, report, before, result


def test_every_number_in_the_draft_is_grounded(drafted) -> None:
    _, report, _, result = drafted
    allowed = {abs(float(n)) for f in result.findings for n in f.numbers}
    found = numbers_in(result.draft)
    assert found and all(float(n) in allowed for n in found)
    assert result.checks[0].name == "numbers_grounded" and result.checks[0].value == 1.0


def test_draft_does_not_copy_the_agencys_previous_text(drafted) -> None:
    _, _, before, result = drafted
    previous_text = load_gold(before)["sections"].get(PROBLEMS) if before else None
    if previous_text:
        assert overlap(result.draft, previous_text) <= MAX_OVERLAP
        assert next(c for c in result.checks if c.name == "overlap_previous").value is not None
    assert "内容雷同" not in result.flags


def test_draft_has_structure_length_and_label(drafted) -> None:
    _, _, _, result = drafted
    assert result.draft.startswith("（一）存在的主要问题") and "（二）改进情况" in result.draft
    assert all(c.passed for c in result.checks), [c.message for c in result.checks if not c.passed]
    assert result.method == "fallback" and result.label.startswith("离线草稿")
    assert {c.id for c in result.citations} <= {f.id for f in result.findings} | {e.id for e in result.examples}


def test_the_reports_own_section_five_is_never_input(drafted) -> None:
    report_dir, report, before, result = drafted
    planted = report.model_copy(update={"sections": {**report.sections, PROBLEMS: "存在问题 999 件，改进措施 777 项。"}})
    again = draft(planted, extracted(before) if before else None, check(hide_own_section(report)))
    assert again.draft == result.draft and "999" not in again.draft


def test_year_on_year_facts_need_the_previous_report() -> None:
    hongze = [d for d in gold_report_dirs() if d.name == "huaian-hongze-district-2024"][0]
    before = previous_dir(hongze)
    assert before is not None
    facts = collect(extracted(hongze), extracted(before))
    assert facts[0].numbers["last_year"] == load_gold(before)["fields"]["t3.new_received.total"]
    assert "上年" in facts[0].text


def test_a_draft_too_like_last_years_is_written_again() -> None:
    """Last year the office published our draft for last year's figures as it was: this year's first
    wording repeats too much of it, so the draft is worded again until it is under the limit."""
    hongze = [d for d in gold_report_dirs() if d.name == "huaian-hongze-district-2024"][0]
    report, last_year = extracted(hongze), extracted(previous_dir(hongze))
    first_wording = draft(report, last_year).draft
    adopted = last_year.model_copy(update={"sections": {PROBLEMS: first_wording}})
    assert overlap(first_wording, adopted.sections[PROBLEMS] or "") > MAX_OVERLAP
    result = draft(report, adopted)
    check_ = next(c for c in result.checks if c.name == "overlap_previous")
    assert check_.attempts > 1 and check_.passed and not result.flags
    assert check_.value == overlap(result.draft, adopted.sections[PROBLEMS] or "") <= MAX_OVERLAP


def test_a_draft_that_cannot_be_reworded_enough_is_flagged() -> None:
    hongze = [d for d in gold_report_dirs() if d.name == "huaian-hongze-district-2024"][0]
    report = extracted(hongze)
    facts = collect(report)
    every_wording = "\n".join(fallback.compose(facts, v, report.meta.agency or "", year=report.meta.year)
                              for v in range(fallback.VARIANTS))
    result = draft(report, history=[_with_text(report, every_wording)])
    assert result.flags == ["内容雷同"] and not result.checks[1].passed and "内容雷同" in result.checks[1].message


def _with_text(report: Report, text: str) -> Report:
    return report.model_copy(update={"meta": Meta(year=2023, agency=report.meta.agency, template="2021"),
                                     "sections": {PROBLEMS: text}})


def test_sentences_with_unknown_numbers_are_dropped() -> None:
    text = "（一）存在的主要问题\n1. 新收申请 12 件。办结率 97.5%。\n（二）改进情况\n1. 加强培训。"
    kept = drop_ungrounded(text, {12.0})
    assert "97.5" not in kept and "新收申请 12 件。" in kept and "加强培训" in kept
    assert numbers_in("1. 2024年新收 3 件[F1]，[F2, F10]") == ["2024", "3"]


def test_a_report_without_figures_is_refused() -> None:
    empty = Report(meta=Meta(year=2024, agency="某局", template="2021"),
                   fields={"t3.new_received.total": FieldValue(value=None)})
    with pytest.raises(NoFiguresError):
        draft(empty)


def test_cli_draft_json_shape(tmp_path) -> None:
    hongze = [d for d in gold_report_dirs() if d.name == "huaian-hongze-district-2024"][0]
    before = previous_dir(hongze)
    assert before is not None
    run = subprocess.run([str(NIANBAO), "draft", str(source_path(hongze)), "--previous",
                          str(source_path(before)), "--format", "json", "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    body = json.loads(run.stdout)
    assert {"draft", "findings", "citations", "checks", "method"} <= set(body) and body["method"] == "fallback"
    assert all({"id", "numbers", "text"} <= set(f) for f in body["findings"])
    assert isinstance(body["findings"][0]["numbers"], list)
    assert "不存在" in run.stderr and not (tmp_path / "chroma").exists()  # a draft never creates a store


def test_cli_draft_refuses_a_report_without_figures(tmp_path) -> None:
    flat = tmp_path / "empty.json"
    flat.write_text(json.dumps({"meta": {"year": 2024, "agency": "某局", "template": "2021"},
                                "fields": {"t3.new_received.total": None}}), "utf-8")
    run = subprocess.run([str(NIANBAO), "draft", str(flat), "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "没有任何统计数字" in run.stderr and "Traceback" not in run.stderr


def test_grounded_numbers_are_the_facts_values() -> None:
    report = extracted(gold_report_dirs()[0])
    facts = collect(report)
    assert all(abs(float(v)) in grounded_numbers(facts) for f in facts for v in f.numbers.values())


def test_eval_drafting_figures() -> None:
    from eval.drafting import char_f1, evaluate_drafting, rouge_l

    assert rouge_l("存在问题，改进措施", "存在问题；改进措施") == 1.0 and char_f1("甲乙", "丙丁") == 0.0
    assert 0 < rouge_l("加强培训", "继续加强业务培训") < 1
    figures = evaluate_drafting([load_gold(d) for d in gold_report_dirs()])
    assert figures["grounded_number_rate"] == 1.0 and figures["structure_rate"] == 1.0
    assert figures["same_agency_pairs"] >= 2 and figures["overlap_previous_max"] <= MAX_OVERLAP
    assert 0 < figures["rouge_l_mean"] < 1 and 0 < figures["char_f1_mean"] < 1
    # against the real section 五 texts: topics found, nothing false, nothing copied
    assert figures["with_section_five"] >= 14 and figures["topics_published"] > 0
    assert 0.25 <= figures["topic_recall"] <= 1 and figures["topic_recall_figures_only"] <= figures["topic_recall"]
    assert figures["false_statements"] == 0 and figures["false_statements_without_tables_3_4"] == 0
    assert figures["overlap_published_max"] <= MAX_OVERLAP
