"""The eval suite: a fast CI subset held to thresholds, an independent recount, regressions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eval import validate_gold
from eval.suite import evaluate
from service.pipeline import extract_bytes
from tests.conftest import GOLD_DIRS, ROOT, gold_report_dirs, load_gold, source_path

THRESHOLDS = json.loads((ROOT / "eval" / "thresholds.json").read_text("utf-8"))
NIANBAO = Path(sys.executable).parent / "nianbao"


@pytest.fixture(scope="module")
def result() -> dict:
    return evaluate(GOLD_DIRS, tuple(THRESHOLDS["modalities"]), mutation_count=60, show_progress=False)


def test_every_gold_report_is_valid_against_the_registry() -> None:
    for report_dir in gold_report_dirs():
        found, _ = validate_gold.problems(report_dir)
        assert found == [], report_dir.name


def test_accuracy_stays_above_the_thresholds(result) -> None:
    for modality in THRESHOLDS["modalities"]:
        scores = result["by_modality"][modality]
        assert scores["field_accuracy"] >= THRESHOLDS["field_accuracy"], modality
        assert scores["nonzero_accuracy"] >= THRESHOLDS["nonzero_accuracy"], modality
        assert min(scores["meta"].values()) >= THRESHOLDS["meta_accuracy"], modality
    assert result["provenance"]["share"] >= THRESHOLDS["provenance_grounded"]


def test_checker_figures_stay_above_the_thresholds(result) -> None:
    bench = result["checker"]["mutation_benchmark"]["overall"]
    assert bench["detection"] >= THRESHOLDS["mutation_detection"]
    assert bench["top1"] >= THRESHOLDS["mutation_top1"] and bench["top3"] >= THRESHOLDS["mutation_top3"]
    assert result["checker"]["false_errors_on_consistent_gold"] == 0


def test_figures_agree_with_an_independent_recount(result) -> None:
    """A second, deliberately plain scorer over two reports' published sources."""
    chosen = gold_report_dirs()[:2]
    right = total = nonzero_right = nonzero = 0
    for report_dir in chosen:
        gold = load_gold(report_dir)
        got = extract_bytes(source_path(report_dir).read_bytes(), gold["source"]).values()
        for key, expected in gold["fields"].items():
            value = got.get(key, "absent")
            ok = value in (None, 0) if expected is None else (value == expected and value != "absent")
            right, total = right + ok, total + 1
            if expected:
                nonzero_right, nonzero = nonzero_right + ok, nonzero + 1
    by_report = result["by_report"]
    suite_cells = sum(by_report[d.name]["source"]["cells"] for d in chosen)
    suite_right = sum(round(by_report[d.name]["source"]["field_accuracy"] * by_report[d.name]["source"]["cells"])
                      for d in chosen)
    assert (suite_cells, suite_right) == (total, right)
    suite_nonzero = sum(by_report[d.name]["source"]["nonzero_cells"] for d in chosen)
    assert suite_nonzero == nonzero and nonzero_right == nonzero


def test_report_files_and_their_keys(result, tmp_path) -> None:
    from eval.output import write

    paths = write(result, tmp_path)
    assert [p.name for p in paths] == ["report.json", "report.md", "report.html"]
    saved = json.loads(paths[0].read_text("utf-8"))
    assert {"overall", "by_modality", "by_report", "checker", "latency"} <= set(saved)
    assert {"field_accuracy", "nonzero_accuracy"} <= set(saved["overall"])
    # accuracy and latency plots always; the worst-fields plot only when a field is read wrong
    page = paths[2].read_text("utf-8")
    assert page.count("data:image/png;base64,") == 2 + bool(result["worst_keys"])
    # report.md's sections stand in the page as HTML tables, not as Markdown text
    assert "<h2>Checker</h2>" in page and page.count("<table>") >= 4 and "|---|" not in page


def test_against_fails_when_accuracy_drops(tmp_path) -> None:
    previous = {"overall": {"field_accuracy": 1.1, "nonzero_accuracy": 1.1}, "by_modality": {}}
    saved = tmp_path / "previous.json"
    saved.write_text(json.dumps(previous), "utf-8")
    done = subprocess.run([str(NIANBAO), "eval", str(GOLD_DIRS[0]), "--modalities", "source", "--mutations", "0",
                           "--against", str(saved)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "准确率下降" in done.stderr


def test_eval_rejects_unknown_modalities() -> None:
    done = subprocess.run([str(NIANBAO), "eval", str(GOLD_DIRS[0]), "--modalities", "fax"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "未知的输入形态" in done.stderr


def test_llm_only_baseline_runs_beside_the_pipeline_against_the_local_server(tmp_path) -> None:
    """The peers' one-call approach against the bundled llama.cpp server the CLI starts itself,
    scored on the same cells as the pipeline and shown beside it in every output file."""
    environment = {**os.environ, "NIANBAO_DATA_DIR": str(tmp_path / "data")}
    for name in [k for k in environment if k.startswith("NIANBAO_LLM_")]:
        del environment[name]  # the bundled model, never a configured remote endpoint
    done = subprocess.run([str(NIANBAO), "eval", str(GOLD_DIRS[0]), "--modalities", "text", "--mutations", "0",
                           "--llm-only", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=1500, env=environment)
    assert done.returncode == 0, done.stderr[-2000:]
    saved = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    baseline = saved["llm_only"]
    assert baseline["model"] == saved["config"]["llm_model"] == "gemma-3-270m"
    assert baseline["overall"]["cells"] == saved["overall"]["cells"] > 0
    assert 0 <= baseline["overall"]["field_accuracy"] <= 1
    assert baseline["cost"]["llm_calls_per_report"] >= 1 and baseline["cost"]["llm_tokens"] > 0
    assert saved["cost"]["llm_calls_per_report"] == 0  # a clean report: the rules read it all
    assert "## Nianbao vs the one-call LLM baseline" in (tmp_path / "out" / "report.md").read_text("utf-8")
    assert "Nianbao vs one-call LLM baseline" in (tmp_path / "out" / "report.html").read_text("utf-8")
