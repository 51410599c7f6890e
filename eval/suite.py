"""The eval suite: extraction scored against gold reports in several input modalities.

A modality is how a gold report reaches extraction: "source" is the file as published; the others
re-render the gold report with eval/render.py (pasted text, tab-separated text, one cell per line,
a web page, a Word file), print it on paper with eval/modalities.py (a digital PDF, scans at
200 and 150 dpi, phone photos) or write it as text whose tables lost their grid with eval/flatten.py
(`flat_<family>`, `flat_<modifier>`, `flat_random`: one seeded composition per report).
Results are plain dicts with stable keys, written by eval/output.py.
"""

from __future__ import annotations

import json
import resource
import time
from dataclasses import dataclass, field
from datetime import date
from itertools import product
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from eval import flatten, modalities, mutations, render
from eval.drafting import evaluate_drafting
from eval.score import META_KEYS, CellScore, group, score_cells, score_meta, summarise, worst_keys
from service import __version__, pipeline
from service.check import check
from service.check.identities import checked_residuals
from service.document import Document
from service.numbers import parse_cell
from service.registry import registry
from service.report import Report, report_from_flat

RENDERED = {"text": "text_indented", "tsv": "text_tsv", "lines": "text_lines", "html": "html", "docx": "docx"}
MODALITIES = ("source", *RENDERED, *modalities.MODALITIES, *flatten.MODALITIES)
DEFAULT_MODALITIES = ("source", "text", "html", "docx")


@dataclass
class Run:
    report: str
    modality: str
    seconds: float = 0.0
    pages: int = 1
    cells: list[CellScore] = field(default_factory=list)
    meta: dict[str, bool] = field(default_factory=dict)
    grounded: int = 0
    provenance_checked: int = 0
    error: str | None = None
    llm_calls: int = 0
    llm_tokens: int = 0


def gold_reports(directories: list[Path]) -> list[Path]:
    """Every <id>/ holding gold.json, the directories themselves included."""
    found = []
    for directory in directories:
        found += [p.parent for p in sorted(directory.glob("*/gold.json"))]
        if (directory / "gold.json").exists():
            found.append(directory)
    return found


def input_of(report_dir: Path, gold: dict, modality: str) -> tuple[bytes, str]:
    """The bytes and file name of a gold report in `modality`."""
    if modality == "source":
        source = report_dir / gold["source"]
        return source.read_bytes(), source.name
    if modality in modalities.MODALITIES:
        return modalities.render_modality(gold, modality)
    if modality in flatten.MODALITIES:
        return flatten.render_modality(gold, modality)
    return render.render(gold, RENDERED[modality])


def _grounded(document: Document, report: Report) -> tuple[int, int]:
    """How many values' recorded location holds exactly the raw text that parses to the value."""
    checked = grounded = 0
    for value in report.fields.values():
        provenance = value.provenance
        if provenance is None or provenance.location.start is None:
            continue
        where = provenance.location
        checked += 1
        raw = document.text[where.start:where.end]
        grounded += raw == provenance.raw and parse_cell(raw).value == value.value
    return grounded, checked


def run_one(report_dir: Path, gold: dict, modality: str, llm: pipeline.LLMFactory | None = None,
            llm_only: bool = False) -> Run:
    """One report in one modality through Nianbao's pipeline (the model, when given, only where the
    rules leave gaps) or, with `llm_only`, through the peers' one-call baseline."""
    return run_input(gold.get("id", report_dir.name), modality, gold, *input_of(report_dir, gold, modality), llm, llm_only)


def run_input(report_id: str, modality: str, gold: dict, data: bytes, name: str,
              llm: pipeline.LLMFactory | None = None, llm_only: bool = False, budgeted: bool = False) -> Run:
    """`data` (a file named `name`) read as run_one reads it and scored against `gold`, the one-call
    baseline `budgeted` as `--llm auto` is or not; the model's calls and tokens are the chain's own
    counters (report.llm)."""
    run = Run(report_id, modality)
    started = time.perf_counter()
    try:
        if llm_only:
            assert llm is not None  # the baseline runs only with a model (cli.baseline_llm makes it first)
            document, report = pipeline.read_llm_only(data, name, llm, budgeted)
        else:
            document, report = pipeline.read(data, name, llm)
    except pipeline.InputError as exc:
        run.error = exc.message
        run.cells = score_cells(run.report, modality, gold, {"fields": {}})
        run.meta = {k: False for k in META_KEYS}
        return run
    run.seconds = time.perf_counter() - started
    run.pages = max([b.location.page or 1 for b in document.blocks] or [1])
    flat = report.flat()
    run.cells = score_cells(run.report, modality, gold, flat)
    run.meta = score_meta(gold, flat)
    run.grounded, run.provenance_checked = _grounded(document, report)
    if report.llm:
        run.llm_calls, run.llm_tokens = report.llm.calls, report.llm.input_tokens + report.llm.output_tokens
    return run


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 5)


def _latency(runs: list[Run]) -> dict:
    seconds = [r.seconds for r in runs if not r.error]
    per_page = [r.seconds / r.pages for r in runs if not r.error]
    return {"p50_s": _percentile(seconds, 0.5), "p95_s": _percentile(seconds, 0.95),
            "per_page_p50_s": _percentile(per_page, 0.5), "per_page_p95_s": _percentile(per_page, 0.95),
            "samples": seconds}


def _meta_accuracy(runs: list[Run]) -> dict:
    return {k: round(sum(r.meta.get(k, False) for r in runs) / max(len(runs), 1), 6) for k in META_KEYS}


def checker_figures(golds: list[dict], mutation_count: int, seed: int) -> dict:
    """The mutation benchmark, and error findings on gold reports whose identities all hold."""
    consistent = [g for g in golds
                  if not any(checked_residuals(registry().templates[g["meta"]["template"]], g["fields"]))]
    false_errors = {g["id"]: [f.rule for f in check(report_from_flat(g)) if f.severity == "error"]
                    for g in consistent}
    return {"mutation_benchmark": mutations.run(mutation_count, seed, golds) if mutation_count else None,
            "consistent_gold_reports": len(consistent),
            "false_errors_on_consistent_gold": sum(len(v) for v in false_errors.values()),
            "false_error_rules": {k: v for k, v in false_errors.items() if v}}


def evaluate(directories: list[Path], modalities: tuple[str, ...] = DEFAULT_MODALITIES,
             mutation_count: int = 200, seed: int = 20261125, show_progress: bool = True,
             llm: pipeline.LLMFactory | None = None, llm_model: str | None = None) -> dict:
    """Scores Nianbao's pipeline; with `llm`, the pipeline may call that model where the rules leave
    gaps, and the peers' one-call baseline runs on the same inputs beside it (`llm_only`)."""
    reports = [(d, json.loads((d / "gold.json").read_text("utf-8"))) for d in gold_reports(directories)]
    passes = [False, True] if llm else [False]
    runs: dict[bool, list[Run]] = {p: [] for p in passes}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not show_progress, transient=True) as progress:
        task = progress.add_task("评测中", total=len(reports) * len(modalities) * len(passes))
        for report_dir, gold in reports:
            for modality, llm_only in product(modalities, passes):
                label = "大模型一次抽取" if llm_only else "流水线"
                progress.update(task, description=f"{gold.get('id', report_dir.name)} · {modality} · {label}")
                runs[llm_only].append(run_one(report_dir, gold, modality, llm, llm_only))
                progress.advance(task)
    result = {
        "config": {"gold_dirs": [str(d) for d in directories], "modalities": list(modalities),
                   "reports": len(reports), "version": __version__, "date": date.today().isoformat(),
                   "llm_model": llm_model},
        **_scores(runs[False], modalities),
        "checker": checker_figures([g for _, g in reports], mutation_count, seed),
        "drafting": evaluate_drafting([g for _, g in reports]),
    }
    if llm:
        result["llm_only"] = {"model": llm_model, "prompt": "whole_report", **_scores(runs[True], modalities)}
    return result


def _scores(runs: list[Run], modalities: tuple[str, ...]) -> dict:
    """Accuracy, provenance, latency and cost of one method's runs."""
    cells = [c for r in runs for c in r.cells]
    by_report: dict[str, dict] = {}
    for r in runs:
        by_report.setdefault(r.report, {})[r.modality] = {**summarise(r.cells), "meta": r.meta, "error": r.error,
                                                          "seconds": round(r.seconds, 5), "llm_calls": r.llm_calls}
    checked = sum(r.provenance_checked for r in runs)
    return {
        "overall": {**summarise(cells), "meta": _meta_accuracy(runs)},
        "by_modality": {m: {**summarise([c for r in runs if r.modality == m for c in r.cells]),
                            "meta": _meta_accuracy([r for r in runs if r.modality == m])} for m in modalities},
        "by_report": by_report,
        "by_table": group(cells, "table"),
        "by_row": group(cells, "row"),
        "by_column": group(cells, "column"),
        "by_template": group(cells, "template"),
        "worst_keys": worst_keys(cells),
        "provenance": {"checked": checked, "grounded": sum(r.grounded for r in runs),
                       "share": round(sum(r.grounded for r in runs) / checked, 6) if checked else None},
        "latency": {m: _latency([r for r in runs if r.modality == m]) for m in modalities},
        "cost": {"llm_calls": sum(r.llm_calls for r in runs), "llm_tokens": sum(r.llm_tokens for r in runs),
                 "llm_calls_per_report": round(sum(r.llm_calls for r in runs) / max(len(runs), 1), 4),
                 "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)},
    }


def regressions(current: dict, previous: dict, tolerance: float = 1e-9) -> list[str]:
    """Accuracy figures that dropped since `previous` (a saved report.json)."""
    found = []
    pairs = [("overall", current["overall"], previous.get("overall", {}))]
    pairs += [(f"by_modality.{m}", v, previous.get("by_modality", {}).get(m, {}))
              for m, v in current["by_modality"].items()]
    for name, now, before in pairs:
        for metric in ("field_accuracy", "nonzero_accuracy"):
            if before.get(metric) is not None and now.get(metric) is not None \
                    and now[metric] < before[metric] - tolerance:
                found.append(f"{name}.{metric}: {before[metric]:.4%} → {now[metric]:.4%}")
    return found
