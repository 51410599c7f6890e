"""Issue 17's faults, each as a test: plausibility by the body's level, partial gold through eval."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.check import check
from service.report import report_from_flat
from tests.conftest import gold_report_dirs, load_gold

NIANBAO = Path(sys.executable).parent / "nianbao"
LICENCES = 11_398_889  # a real city-wide count of 行政许可 decisions


def _whole_gold() -> dict:
    return load_gold(next(d for d in gold_report_dirs() if d.name == "shuyang-county-2025"))


def _with(agency: str, **fields) -> dict:
    gold = _whole_gold()
    return {**gold, "meta": {**gold["meta"], "agency": agency}, "fields": {**gold["fields"], **fields}}


@pytest.mark.parametrize("agency, warned", [
    ("深圳市人民政府", False),  # a city: eleven million licences are real
    ("上海市人民政府", False),  # a municipality, a province's level
    ("淮安市洪泽区人民政府", True),  # a district: worth a second look, never an error
    ("沭阳县人民政府", True),
    ("沭阳县发展和改革局", True),  # a county's department takes the county's bound
    ("深圳市市场监督管理局", False),  # a city's department takes the city's
])
def test_big_real_figures_are_never_an_error_and_warned_by_the_bodys_level(agency, warned) -> None:
    findings = check(report_from_flat(_with(agency, **{"t2.licensing.decisions": LICENCES})))
    about = [f for f in findings if "t2.licensing.decisions" in f.fields and f.rule.startswith("value.")]
    assert all(f.severity == "warning" and f.rule == "value.implausible" for f in about)
    assert bool(about) == warned
    assert not [f for f in findings if f.severity == "error"]


def test_requests_are_bounded_lower_than_decisions_and_impossible_values_stay_errors() -> None:
    findings = check(report_from_flat(_with("沭阳县人民政府", **{"t3.new_received.natural_person": 500_000})))
    assert [f.rule for f in findings if f.rule.startswith("value.")] == ["value.implausible"]
    findings = check(report_from_flat(_with("深圳市人民政府", **{"t2.penalty.decisions": -3})))
    assert {(f.rule, f.severity) for f in findings if f.rule.startswith("value.")} == {("value.impossible", "error")}


def test_check_cli_passes_a_city_with_eleven_million_licences(tmp_path) -> None:
    flat = tmp_path / "city.json"
    flat.write_text(json.dumps(_with("深圳市人民政府", **{"t2.licensing.decisions": LICENCES}), ensure_ascii=False), "utf-8")
    done = subprocess.run([str(NIANBAO), "check", str(flat), "--format", "json"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [f for f in json.loads(done.stdout)["findings"] if f["severity"] == "error"]
