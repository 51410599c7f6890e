"""The first scorer: extraction against gold reports, field by field.

A blank gold cell (null) is matched by null or 0; a key missing from gold is not scored.
Beside overall accuracy it reports the share of non-zero gold cells read right, and what an
output of all zeros would score, because most cells of real reports are 0 or blank.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

from service import pipeline

META_KEYS = ("year", "agency", "template")
_MISSING = "（缺失）"


class Mismatch(BaseModel):
    key: str
    expected: int | float | str | None
    got: int | float | str | None


class ReportScore(BaseModel):
    id: str
    fields_total: int = 0
    fields_right: int = 0
    nonzero_total: int = 0
    nonzero_right: int = 0
    zeros_baseline_right: int = 0
    meta_right: dict[str, bool] = Field(default_factory=dict)
    mismatches: list[Mismatch] = Field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None


class EvalResult(BaseModel):
    reports: list[ReportScore]

    def _sum(self, name: str) -> int:
        return sum(getattr(r, name) for r in self.reports)

    @property
    def field_accuracy(self) -> float:
        return self._sum("fields_right") / max(self._sum("fields_total"), 1)

    @property
    def nonzero_accuracy(self) -> float:
        return self._sum("nonzero_right") / max(self._sum("nonzero_total"), 1)

    @property
    def zeros_baseline(self) -> float:
        return self._sum("zeros_baseline_right") / max(self._sum("fields_total"), 1)

    @property
    def meta_accuracy(self) -> dict[str, float]:
        return {k: sum(r.meta_right.get(k, False) for r in self.reports) / max(len(self.reports), 1)
                for k in META_KEYS}

    def model_dump_json(self, **kwargs) -> str:  # add the summary figures to the saved file
        data = json.loads(super().model_dump_json())
        data["summary"] = {"reports": len(self.reports), "field_accuracy": self.field_accuracy,
                           "nonzero_accuracy": self.nonzero_accuracy, "zeros_baseline": self.zeros_baseline,
                           "meta_accuracy": self.meta_accuracy}
        return json.dumps(data, ensure_ascii=False, indent=kwargs.get("indent"))


def matches(expected, got) -> bool:
    if expected is None:
        return got is None or got == 0
    return got is not None and not isinstance(got, str) and got == expected


def score(report_id: str, gold: dict, flat: dict) -> ReportScore:
    result = ReportScore(id=report_id)
    for key, expected in gold["fields"].items():
        got = flat["fields"].get(key, _MISSING)
        right = matches(expected, got)
        result.fields_total += 1
        result.fields_right += right
        result.zeros_baseline_right += matches(expected, 0)
        if expected not in (None, 0):
            result.nonzero_total += 1
            result.nonzero_right += right
        if not right:
            result.mismatches.append(Mismatch(key=key, expected=expected, got=got))
    for key in META_KEYS:
        result.meta_right[key] = flat["meta"].get(key) == gold["meta"].get(key)
        if not result.meta_right[key]:
            result.mismatches.append(Mismatch(key=f"meta.{key}", expected=gold["meta"].get(key),
                                              got=flat["meta"].get(key)))
    return result


def gold_reports(directories: list[Path]) -> list[Path]:
    """Every <id>/ holding gold.json, the directories themselves included."""
    found = []
    for directory in directories:
        found += [p.parent for p in sorted(directory.glob("*/gold.json"))]
        if (directory / "gold.json").exists():
            found.append(directory)
    return found


def evaluate_one(report_dir: Path) -> ReportScore:
    gold = json.loads((report_dir / "gold.json").read_text("utf-8"))
    source = report_dir / gold.get("source", "")
    started = time.perf_counter()
    try:
        flat = pipeline.extract_bytes(source.read_bytes(), source.name).flat()
    except (pipeline.InputError, OSError) as exc:
        flat = {"meta": {}, "fields": {}}
        failed = score(gold.get("id", report_dir.name), gold, flat)
        failed.error = getattr(exc, "message", str(exc))
        return failed
    result = score(gold.get("id", report_dir.name), gold, flat)
    result.seconds = time.perf_counter() - started
    return result


def evaluate(directories: list[Path]) -> EvalResult:
    return EvalResult(reports=[evaluate_one(d) for d in gold_reports(directories)])


def _pct(right: int, total: int) -> str:
    return f"{right}/{total} ({right / total:.1%})" if total else "—"


def print_summary(result: EvalResult, console: Console, show_mismatches: bool = True) -> None:
    table = Table(title="抽取评测")
    for column in ("报告", "字段", "非零字段", "全零基线", "年份", "机关", "模板", "耗时 ms"):
        table.add_column(column)
    for r in result.reports:
        table.add_row(r.id, _pct(r.fields_right, r.fields_total), _pct(r.nonzero_right, r.nonzero_total),
                      _pct(r.zeros_baseline_right, r.fields_total),
                      *("✓" if r.meta_right.get(k) else "✗" for k in META_KEYS), f"{r.seconds * 1000:.1f}")
    console.print(table)
    meta = "  ".join(f"{k} {v:.0%}" for k, v in result.meta_accuracy.items())
    console.print(f"总体：字段 {result.field_accuracy:.2%}，非零字段 {result.nonzero_accuracy:.2%}，"
                  f"全零基线 {result.zeros_baseline:.2%}；元数据 {meta}", highlight=False)
    if not show_mismatches:
        return
    for r in result.reports:
        if r.error:
            console.print(f"[red]{r.id}：{r.error}[/red]", highlight=False)
        for m in r.mismatches:
            console.print(f"  {r.id}  {m.key}: 应为 {m.expected!r}，实为 {m.got!r}", highlight=False)
