"""The checker on real reports and on mutated copies of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.check import check, has_errors
from service.pipeline import extract_bytes
from service.report import FlatInputError, report_from_flat
from tests.conftest import ROOT, gold_report_dirs, load_gold, source_path

EVAL_GOLD = ROOT / "eval" / "gold-relayout"  # the huaian-* re-layouts
NIANBAO = Path(sys.executable).parent / "nianbao"
T3_COLUMNS = ("natural_person", "commercial", "research", "social_welfare", "legal_services", "other_org")


def gold(report_id: str) -> dict:
    return load_gold(next(d for d in gold_report_dirs() if d.name == report_id))


def extracted(report_id: str):
    path = source_path(next(d for d in gold_report_dirs() if d.name == report_id))
    return extract_bytes(path.read_bytes(), path.name)


def broken_by_hand(fields: dict) -> set[tuple[str, str]]:
    """FORMAT.md's identities, written out here independently of the registry: (rule, scope)."""
    v = lambda key: fields.get(key) or 0
    rows = sorted({k.split(".", 1)[1].rsplit(".", 1)[0] for k in fields if k.startswith("t3.")})
    results = [r for r in rows if r not in ("new_received", "carried_over", "total", "carried_forward")]
    broken = set()
    for col in (*T3_COLUMNS, "total"):
        if v(f"t3.new_received.{col}") + v(f"t3.carried_over.{col}") != v(f"t3.total.{col}") + v(f"t3.carried_forward.{col}"):
            broken.add(("t3.balance", col))
        if v(f"t3.total.{col}") != sum(v(f"t3.{r}.{col}") for r in results):
            broken.add(("t3.column_sum", col))
    for row in rows:
        if v(f"t3.{row}.total") != sum(v(f"t3.{row}.{c}") for c in T3_COLUMNS):
            broken.add(("t3.row_sum", row))
    for group in ("review", "litigation_direct", "litigation_after_review"):
        parts = sum(v(f"t4.{group}.{o}") for o in ("upheld", "corrected", "other", "pending"))
        if parts != v(f"t4.{group}.total"):
            broken.add(("t4.group_sum", group))
    return broken


def test_errors_are_exactly_the_identity_breaks_the_gold_reports_print(gold_dir) -> None:
    data = load_gold(gold_dir)
    findings = [f for f in check(report_from_flat(data)) if f.severity == "error"]
    expected = broken_by_hand(data["fields"])
    assert {f.rule for f in findings} <= {"t3.balance", "t3.column_sum", "t3.row_sum", "t4.group_sum"}
    assert len(findings) == len(expected)
    if not expected:
        assert not has_errors(check(extracted(gold_dir.name)))


def test_hongze_2023_table_4_totals_left_at_zero_are_found_and_repaired() -> None:
    findings = [f for f in check(extracted("huaian-hongze-district-2023")) if f.rule == "t4.group_sum"]
    assert len(findings) == 2
    review = next(f for f in findings if "t4.review.total" in f.fields)
    assert "总计 0 ≠ 结果维持 10 + 结果纠正 1 + 其他结果 0 + 尚未审结 0（相差 11）" in review.message
    assert review.suggestions[0].fields == {"t4.review.total": 11}
    assert review.suggestions[0].cause == "report"  # the source prints exactly 0


def test_shanghai_blank_totals_are_found_with_the_row_sums_as_repairs() -> None:
    findings = check(extracted("shanghai-government-office-2019"))
    row_sums = [f for f in findings if f.rule == "t3.row_sum"]
    assert len(row_sums) == 11 and any(f.rule == "t3.column_sum" for f in findings)
    granted = next(f for f in row_sums if "t3.granted.total" in f.fields)
    assert {"t3.granted.total": 272} in [s.fields for s in granted.suggestions]


@pytest.mark.parametrize("key, wrong", [
    ("t3.granted.natural_person", 1),  # a digit dropped
    ("t3.new_received.natural_person", 9990),  # a value changed
    ("t4.litigation_direct.total", 0),
])
def test_a_mutated_cell_of_a_real_report_is_pointed_at_and_restored(key, wrong) -> None:
    data = gold("huaian-city-2024")
    original = data["fields"][key]
    findings = check(report_from_flat({**data, "fields": {**data["fields"], key: wrong}}))
    involved = [f for f in findings if key in f.fields and f.severity == "error"]
    assert involved and involved[0].suggestions[0].fields == {key: original}


def test_swapped_neighbours_are_suggested_as_a_swap() -> None:
    data = gold("huaian-city-2024")
    a, b = "t3.new_received.natural_person", "t3.new_received.commercial"
    fields = {**data["fields"], a: data["fields"][b], b: data["fields"][a]}
    suggestion = next(f for f in check(report_from_flat({**data, "fields": fields})) if f.suggestions).suggestions[0]
    assert suggestion.fields == {a: data["fields"][a], b: data["fields"][b]} and "互换" in suggestion.reason


def test_prose_contradicting_the_table_is_found_in_a_real_report() -> None:
    warnings = [f for f in check(extracted("huaian-hongze-district-2024")) if f.rule == "text.requests"]
    assert len(warnings) == 1 and warnings[0].numbers == {"stated": 17, "table": 95}


def test_prose_agreeing_with_the_table_turns_into_a_finding_when_the_table_is_mutated() -> None:
    report = extracted("huaian-hongze-district-2023")  # its prose says 受理…申请 21 件, as table 3 does
    assert not [f for f in check(report) if f.rule.startswith("text.")]
    report.fields["t3.new_received.total"].value = 12
    assert [f.numbers for f in check(report) if f.rule == "text.requests"] == [{"stated": 21, "table": 12}]


def test_cross_year_on_the_real_pair_and_on_a_mutated_copy() -> None:
    this, last = extracted("huaian-hongze-district-2024"), extracted("huaian-hongze-district-2023")
    assert not [f for f in check(this, last) if f.rule.startswith("crossyear.")]
    this.fields["t3.carried_over.natural_person"].value = 3
    this.fields["t2.normative_documents.in_force"].value = 9  # 5 last year + 3 issued − 0 repealed = 8
    rules = sorted(f.rule for f in check(this, last) if f.rule.startswith("crossyear."))
    assert rules == ["crossyear.carried_over", "crossyear.in_force"]


def test_template_values_and_blanks_rules() -> None:
    data = gold("beilun-development-2020")
    fields = {**data["fields"], "t3.granted.natural_person": -1, "t4.review.upheld": 1.5}
    report = report_from_flat({**data, "meta": {**data["meta"], "year": 2022}, "fields": fields})
    rules = {f.rule: f.severity for f in check(report)}
    assert rules["template.year"] == "error" and rules["value.impossible"] == "error"
    assert rules["blank.cells"] == "info"
    del fields["t4.review.upheld"]
    missing = {f.rule for f in check(report_from_flat({**data, "fields": {k: v for k, v in fields.items()
                                                                          if not k.startswith("t4.")}}))}
    assert "missing.table" in missing


@pytest.mark.parametrize("data, message", [
    ([1, 2], "格式"),
    ({"fields": {"t9.nope": 1}}, "没有这些字段"),
    ({"fields": {"t3.total.total": "12"}}, "应为数字"),
    ({"meta": {"template": "1999"}, "fields": {}}, "未知模板"),
])
def test_flat_input_is_validated(data, message) -> None:
    with pytest.raises(FlatInputError, match=message):
        report_from_flat(data)


def run_check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(NIANBAO), "check", *args], capture_output=True, text=True, timeout=120)


def test_cli_exit_codes(tmp_path) -> None:
    assert run_check(str(EVAL_GOLD / "huaian-hongze-district-2023" / "source.txt")).returncode == 1
    done = run_check(str(EVAL_GOLD / "huaian-city-2024" / "gold.json"), "--format", "json")
    assert done.returncode == 0 and json.loads(done.stdout)["findings"] == []
    bad = tmp_path / "bad.json"
    for content in ("{not json", '{"fields": {"t3.total.total": "x"}}', '{"fields": {"t9.x": 1}}'):
        bad.write_text(content, "utf-8")
        done = run_check(str(bad))
        assert done.returncode == 2 and "错误" in done.stderr and "Traceback" not in done.stderr


def test_cli_json_lists_suggestions() -> None:
    done = run_check(str(EVAL_GOLD / "huaian-hongze-district-2023" / "gold.json"), "-f", "json")
    findings = json.loads(done.stdout)["findings"]
    assert done.returncode == 1
    first = findings[0]
    assert set(first) >= {"rule", "severity", "fields", "message", "suggestions"}
    assert first["suggestions"][0]["fields"] == {"t4.review.total": 11}


def test_a_report_of_the_other_template_is_read_as_printed_and_flagged() -> None:
    path = source_path(next(d for d in gold_report_dirs() if d.name == "beilun-development-2020"))
    text = path.read_text("utf-8").replace("发展局2020年度", "发展局2022年度", 1)
    report = extract_bytes(text.encode(), "r.txt")
    assert (report.meta.year, report.meta.template) == (2022, "2019")
    assert not report.missing  # every cell of the layout it prints is read
    template_findings = [f for f in check(report) if f.rule == "template.year"]
    assert template_findings[0].severity == "error" and "2021 版模板" in template_findings[0].message


def test_a_blank_total_column_gets_each_rows_own_total_and_one_fill_for_all() -> None:
    """Shanghai 2019 prints table 3 with its 总计 column blank: each row's break offers that row's
    own sum, never another row's total or the grand total, plus one repair filling the whole column."""
    source = ROOT / "eval" / "gold" / "shanghai-government-office-2019" / "source.html"
    report = extract_bytes(source.read_bytes(), source.name)
    values = report.values()
    rows = [f for f in check(report) if f.rule == "t3.row_sum"]
    blank = {f.fields[0] for f in rows}
    assert len(rows) == 11 and all(values[k] is None for k in blank)
    for finding in rows:
        total, parts = finding.fields[0], finding.fields[1:]
        singles = [s.fields for s in finding.suggestions if len(s.fields) == 1]
        assert singles == [{total: sum(values[k] or 0 for k in parts)}], finding.message
        (whole,) = [s.fields for s in finding.suggestions if len(s.fields) > 1]
        assert set(whole) == blank and whole[total] == singles[0][total]
