"""Extraction reads every re-rendering of every gold report (eval/render.py) at 100 %.

Per report: every layout plain and with every perturbation at once, and every perturbation alone on
one layout. That layout rotates with the report's place in the list, so across five or more reports
every perturbation meets every layout while the file stays fast as gold reports are added.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from eval.render import LAYOUTS, PERTURBATIONS, Style, combine, render
from service.ingest import load
from service.pipeline import extract_bytes
from service.registry import registry
from tests.conftest import GOLD_DIRS, blank_equal, gold_report_dirs, load_gold

BEILUN = GOLD_DIRS[0] / "beilun-development-2020"

STYLES = {
    "plain": Style(),
    **PERTURBATIONS,
    # Every perturbation at once, blanks printed every way reports print them.
    "everything": replace(combine(*PERTURBATIONS.values()), blanks=("", "—", "/", "无", "0")),
}


def _cases() -> list:
    layouts = list(LAYOUTS)
    cases = []
    for i, report in enumerate(gold_report_dirs()):
        cases += [(report, layout, name) for layout in layouts for name in ("plain", "everything")]
        cases += [(report, layouts[(i + j) % len(layouts)], name) for j, name in enumerate(PERTURBATIONS)]
    return [pytest.param(report, layout, name, id=f"{report.name}-{layout}-{name}")
            for report, layout, name in cases]


def test_gold_reports_are_found() -> None:
    assert gold_report_dirs(), f"no gold.json under {GOLD_DIRS}"


@pytest.mark.parametrize(("report_dir", "layout", "style_name"), _cases())
def test_extraction_reads_the_rendering(report_dir: Path, layout: str, style_name: str) -> None:
    gold = load_gold(report_dir)
    # A seed per report varies the random choices between reports, stable whatever reports are added.
    style = replace(STYLES[style_name], seed=zlib.crc32(report_dir.name.encode()))
    report = extract_bytes(*render(gold, layout, style))
    values = report.values()
    wrong = {key: (expected, values.get(key, "MISSING")) for key, expected in gold["fields"].items()
             if not blank_equal(expected, values.get(key, "MISSING"))}
    assert wrong == {}
    # Keys gold lacks are rows the renderer leaves out: nothing may be read for them.
    assert {key: value for key, value in values.items() if key not in gold["fields"] and value is not None} == {}
    assert report.flat()["meta"] == gold["meta"]
    expected_five = gold["sections"].get("problems_and_improvements")
    if expected_five:
        squash = lambda text: re.sub(r"\s+", "", text or "")
        assert squash(report.sections.get("problems_and_improvements")) == squash(expected_five)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_rendering_is_deterministic(layout: str) -> None:
    gold = load_gold(BEILUN)
    assert render(gold, layout, STYLES["everything"]) == render(gold, layout, STYLES["everything"])


def _spans(document, text: str) -> list[tuple[int, int]]:
    return [(c.rowspan, c.colspan) for t in document.tables for row in t.rows for c in row if c.text == text]


@pytest.mark.parametrize("layout", ["html", "docx"])
def test_tables_merge_cells_as_the_national_template_does(layout: str) -> None:
    gold = load_gold(BEILUN)
    document = load(*render(gold, layout))
    template = registry().templates[gold["meta"]["template"]]
    results = sum(1 for row in template.table3_rows if row.group)
    assert _spans(document, "法人或其他组织") == [(1, 5)]
    assert _spans(document, "三、本年度办理结果") == [(results, 1)]
    assert _spans(document, "（三）不予公开") == [(8, 1)]
    assert _spans(document, "行政复议") == [(1, 5)] and _spans(document, "行政诉讼") == [(1, 10)]
    assert _spans(document, "结果维持") == [(2, 1), (1, 1), (1, 1)]
    assert len(document.tables[-1].rows[-1]) == 15
