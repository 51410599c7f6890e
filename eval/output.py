"""Writing an eval result: report.json (stable keys), report.md (tables), report.html (with plots)."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import markdown
import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402


def _pct(value) -> str:
    return "—" if value is None else f"{value:.2%}"


def _rows(result: dict) -> list[tuple[str, dict]]:
    return [("overall", result["overall"]), *((f"modality {m}", v) for m, v in result["by_modality"].items()),
            *((f"table {t}", v) for t, v in result["by_table"].items()),
            *((f"template {t}", v) for t, v in result["by_template"].items())]


def _side_by_side(result: dict) -> list[tuple[str, dict, dict, dict]]:
    """(scope, pipeline figures, baseline figures, latency of each) for the --llm-only comparison."""
    baseline = result["llm_only"]
    rows: list[tuple[str, dict, dict, dict]] = [("overall", result["overall"], baseline["overall"], {})]
    rows += [(f"modality {m}", v, baseline["by_modality"][m],
              {"pipeline": result["latency"][m]["p50_s"], "llm_only": baseline["latency"][m]["p50_s"]})
             for m, v in result["by_modality"].items()]
    rows += [(f"table {t}", v, baseline["by_table"].get(t, {}), {}) for t, v in result["by_table"].items()]
    return rows


_COMPARISON_COLUMNS = ("scope", "Nianbao field acc.", "LLM-only field acc.", "Nianbao non-zero",
                       "LLM-only non-zero", "all-zeros baseline", "p50 s Nianbao", "p50 s LLM-only")


def _comparison_cells(scope: str, ours: dict, theirs: dict, latency: dict) -> list[str]:
    return [scope, _pct(ours.get("field_accuracy")), _pct(theirs.get("field_accuracy")),
            _pct(ours.get("nonzero_accuracy")), _pct(theirs.get("nonzero_accuracy")), _pct(ours.get("zeros_baseline")),
            str(latency.get("pipeline", "")), str(latency.get("llm_only", ""))]


def _cost_line(result: dict) -> str:
    ours, theirs = result["cost"], result["llm_only"]["cost"]
    return (f"model {result['llm_only']['model']}: LLM calls per report {ours['llm_calls_per_report']} (Nianbao) vs "
            f"{theirs['llm_calls_per_report']} (LLM-only); tokens {ours['llm_tokens']} vs {theirs['llm_tokens']}")


def print_summary(result: dict, console: Console) -> None:
    table = Table(title=f"抽取评测：{result['config']['reports']} 份 gold 报告")
    for column in ("范围", "单元格", "字段准确率", "非零字段", "全零基线", "p50 秒"):
        table.add_column(column)
    for name, s in _rows(result):
        latency = result["latency"].get(name.removeprefix("modality "), {}).get("p50_s", "")
        table.add_row(name, str(s["cells"]), _pct(s["field_accuracy"]), _pct(s["nonzero_accuracy"]),
                      _pct(s["zeros_baseline"]), str(latency or ""))
    console.print(table)
    meta = "  ".join(f"{k} {v:.0%}" for k, v in result["overall"]["meta"].items())
    console.print(f"元数据：{meta}；出处可核对 {_pct(result['provenance']['share'])}", highlight=False)
    checker = result["checker"]
    bench = (checker["mutation_benchmark"] or {}).get("overall")
    if bench:
        console.print(f"检查器变异基准：检出 {_pct(bench['detection'])}，定位 top-1 {_pct(bench['top1'])}，"
                      f"top-3 {_pct(bench['top3'])}，还原数值 {_pct(bench['value_recovery'])}", highlight=False)
    console.print(f"一致的 gold 报告上误报错误：{checker['false_errors_on_consistent_gold']}", highlight=False)
    drafting = result.get("drafting")
    if drafting:
        console.print(f"第五部分草稿（{drafting['method']}，{drafting['reports']} 份）：数字有据 "
                      f"{_pct(drafting['grounded_number_rate'])}，结构完整 {_pct(drafting['structure_rate'])}，"
                      f"与同机关上年重合最高 {_pct(drafting['overlap_previous_max'])}；与原文 ROUGE-L "
                      f"{drafting['rouge_l_mean']}、字 F1 {drafting['char_f1_mean']}（仅供参考）", highlight=False)
        if drafting.get("topics_published"):
            console.print(f"  对照 {drafting['with_section_five']} 份原文第五部分：问题主题召回 {_pct(drafting['topic_recall'])}"
                          f"（仅凭数据 {_pct(drafting['topic_recall_figures_only'])}，共 {drafting['topics_published']} 个主题），"
                          f"不实陈述 {drafting['false_statements']} 处，与原文 8 字重合最高 "
                          f"{_pct(drafting['overlap_published_max'])}", highlight=False)
    for worst in result["worst_keys"][:10]:
        example = worst["examples"][0]
        console.print(f"  {worst['key']}  错 {worst['errors']} 次，如 {example['report']}·{example['modality']}："
                      f"应为 {example['expected']!r}，实为 {example['got']!r}", highlight=False)
    errors = [(rid, m, v["error"]) for rid, runs in result["by_report"].items() for m, v in runs.items() if v["error"]]
    for rid, modality, error in errors:
        console.print(f"[red]{rid}·{modality}：{error}[/red]", highlight=False)
    if "llm_only" in result:
        comparison = Table(title="对照：Nianbao 流水线 vs 整份报告一次交给大模型")
        for column in _COMPARISON_COLUMNS:
            comparison.add_column(column)
        for row in _side_by_side(result):
            comparison.add_row(*_comparison_cells(*row))
        console.print(comparison)
        console.print(_cost_line(result), highlight=False)


def _markdown(result: dict) -> str:
    lines = ["# Nianbao eval", "", f"{result['config']['reports']} gold reports; modalities "
             f"{', '.join(result['config']['modalities'])}; {result['config']['date']}.", "",
             "| scope | cells | field accuracy | non-zero accuracy | all-zeros baseline |", "|---|---|---|---|---|"]
    lines += [f"| {n} | {s['cells']} | {_pct(s['field_accuracy'])} | {_pct(s['nonzero_accuracy'])} | "
              f"{_pct(s['zeros_baseline'])} |" for n, s in _rows(result)]
    lines += ["", "## By report", "", "| report | modality | field accuracy | non-zero | meta | seconds |",
              "|---|---|---|---|---|---|"]
    for rid, runs in result["by_report"].items():
        for modality, s in runs.items():
            meta = " ".join(k for k, ok in s["meta"].items() if not ok) or "ok"
            lines.append(f"| {rid} | {modality} | {_pct(s['field_accuracy'])} | {_pct(s['nonzero_accuracy'])} | "
                         f"{meta} | {s['seconds']} |")
    lines += ["", "## Worst keys", ""]
    lines += ["| key | errors | example |", "|---|---|---|"] if result["worst_keys"] else ["Every field right."]
    for w in result["worst_keys"]:
        e = w["examples"][0]
        lines.append(f"| {w['key']} | {w['errors']} | {e['report']} · {e['modality']}: {e['expected']!r} → {e['got']!r} |")
    if "llm_only" in result:
        lines += ["", "## Nianbao vs the one-call LLM baseline (--llm-only)", "",
                  "| " + " | ".join(_COMPARISON_COLUMNS) + " |", "|" + "---|" * len(_COMPARISON_COLUMNS)]
        lines += ["| " + " | ".join(_comparison_cells(*row)) + " |" for row in _side_by_side(result)]
        lines += ["", _cost_line(result) + "."]
    if result.get("drafting"):
        summary = {k: v for k, v in result["drafting"].items() if k != "by_report"}
        lines += ["", "## Drafting (section 五)", "", *_key_values(summary)]
    lines += ["", "## Checker", "", *_checker_lines(result["checker"]), "",
              f"Provenance grounded: {_pct(result['provenance']['share'])}. Peak RSS {result['cost']['peak_rss_mb']} MB."]
    return "\n".join(lines) + "\n"


def _key_values(figures: dict) -> list[str]:
    return ["| figure | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in figures.items())]


def _checker_lines(checker: dict) -> list[str]:
    """The mutation benchmark over all reports and per report, and false errors on consistent gold."""
    bench = checker["mutation_benchmark"] or {}
    columns = ("mutations", "breaking", "detection", "top1", "top3", "value_recovery", "median_check_ms")
    lines = [f"Consistent gold reports: {checker['consistent_gold_reports']}; false errors on them: "
             f"{checker['false_errors_on_consistent_gold']}.", ""]
    if bench:
        lines += ["| report | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
        rows = [("all", bench["overall"]), *bench["per_report"].items()]
        lines += [f"| {name} | " + " | ".join(str(figures.get(c, "")) for c in columns) + " |" for name, figures in rows]
    return lines


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plots(result: dict) -> list[tuple[str, str]]:
    modalities = list(result["by_modality"])
    figure, axis = plt.subplots(figsize=(7, 3.2))
    width = 0.27
    for i, (metric, name) in enumerate((("field_accuracy", "all cells"), ("nonzero_accuracy", "non-zero cells"),
                                        ("zeros_baseline", "all-zeros baseline"))):
        values = [result["by_modality"][m][metric] or 0 for m in modalities]
        axis.bar([x + (i - 1) * width for x in range(len(modalities))], values, width, label=name)
    axis.set_xticks(range(len(modalities)), modalities)
    axis.set_ylim(0, 1.05)
    axis.set_ylabel("accuracy")
    axis.legend(loc="lower right", fontsize=8)
    plots = [("Accuracy by modality", _png(figure))]
    if "llm_only" in result:
        plots.append(("Nianbao vs one-call LLM baseline", _comparison_plot(result, modalities)))
    figure, axis = plt.subplots(figsize=(7, 3.2))
    axis.boxplot([[s * 1000 for s in result["latency"][m]["samples"]] or [0] for m in modalities])
    axis.set_xticks(range(1, len(modalities) + 1), modalities)
    axis.set_ylabel("ms per report")
    plots.append(("Latency by modality", _png(figure)))
    worst = result["worst_keys"][:12]
    if worst:
        figure, axis = plt.subplots(figsize=(7, 0.3 * len(worst) + 1))
        axis.barh([w["key"] for w in worst][::-1], [w["errors"] for w in worst][::-1])
        axis.set_xlabel("errors")
        plots.append(("Worst fields", _png(figure)))
    return plots


def _comparison_plot(result: dict, modalities: list[str]) -> str:
    figure, axis = plt.subplots(figsize=(7, 3.2))
    width = 0.2
    series = [(result["by_modality"], "field_accuracy", "Nianbao, all cells"),
              (result["llm_only"]["by_modality"], "field_accuracy", "LLM-only, all cells"),
              (result["by_modality"], "nonzero_accuracy", "Nianbao, non-zero"),
              (result["llm_only"]["by_modality"], "nonzero_accuracy", "LLM-only, non-zero")]
    for i, (figures, metric, name) in enumerate(series):
        axis.bar([x + (i - 1.5) * width for x in range(len(modalities))],
                 [figures[m][metric] or 0 for m in modalities], width, label=name)
    axis.set_xticks(range(len(modalities)), modalities)
    axis.set_ylim(0, 1.05)
    axis.set_ylabel("accuracy")
    axis.legend(loc="lower right", fontsize=7)
    return _png(figure)


def _html(result: dict) -> str:
    rows = "".join(f"<tr><td>{html.escape(n)}</td><td>{s['cells']}</td><td>{_pct(s['field_accuracy'])}</td>"
                   f"<td>{_pct(s['nonzero_accuracy'])}</td><td>{_pct(s['zeros_baseline'])}</td></tr>"
                   for n, s in _rows(result))
    figures = "".join(f"<h2>{title}</h2><img alt='{title}' src='data:image/png;base64,{data}'>"
                      for title, data in _plots(result))
    text = _markdown(result)
    details = text[text.index("\n## "):]  # the title and the summary table stand above the plots already
    return f"""<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>Nianbao eval</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child{{text-align:left}}
h2+table,p+table{{margin-bottom:1em}}</style></head>
<body><h1>Nianbao eval</h1><p>{result['config']['reports']} gold reports, {result['config']['date']}</p>
<table><tr><th>scope</th><th>cells</th><th>field accuracy</th><th>non-zero accuracy</th><th>all-zeros baseline</th></tr>
{rows}</table>{figures}{markdown.markdown(details, extensions=["tables"])}</body></html>"""


def write(result: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {"report.json": json.dumps(result, ensure_ascii=False, indent=1),
             "report.md": _markdown(result), "report.html": _html(result)}
    for name, content in files.items():
        (out / name).write_text(content, encoding="utf-8")
    return [out / name for name in files]
