"""Label drift and prose-only renderings of gold reports, and the run that scores rules alone against
rules + LLM on them (issue 6).

Renderings (`KINDS`), all printed by eval/render.py from a gold report, deterministic for a seed:
- "drift"           tables 2–4 as tables, but a share of row labels (and table 3 group and table 4
                    header labels) reworded into text that is none of the registry's labels or aliases,
                    and the rows of table 2 items and table 3 groups shuffled within their runs;
- "drift_t2_prose"  the same, with table 2 printed as a paragraph of sentences instead of a table;
- "prose_only"      no tables at all: table 2 and the totals of tables 3 and 4, the applicants of
                    table 3's new requests and every non-zero result row written as sentences
                    ("本年新收政府信息公开申请数量为5件，其中自然人4件、商业企业1件…").

Rewordings are derived from the registry's labels by generic moves only — numbering and bracketed
qualifiers dropped, generic words dropped (abbreviation), words swapped from a small table of
synonyms an office might use, a qualifier put before or after a label too short to change — and a
rewording is kept only when its normal form is no name the registry knows. Nothing here knows a gold
file's text; the gold values stay the truth for scoring.

Scoring: every gold key ("all"), and the keys the rendering changed ("focus": the reworded rows and
the prose table for the drift kinds, the keys stated in sentences for prose_only), since a prose-only
rendering does not state most of table 3 and no reader can get those from it.

Run `python -m eval.drift` (the bundled local model, started once) → eval/results/drift.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import time
from dataclasses import dataclass, field, replace
from itertools import groupby
from pathlib import Path

from eval import render
from eval.score import CellScore, matches, score_cells, summarise
from eval.suite import gold_reports
from service import pipeline
from service.agency import one_body
from service.registry import Label, Registry, registry
from service.report import Report
from service.textnorm import normalize_label, strip_numbering

ROOT = Path(__file__).resolve().parents[1]
GOLD_DIRS = [ROOT.parent / "shared" / "gold", ROOT / "eval" / "gold"]
KINDS = ("drift", "drift_t2_prose", "prose_only")
LAYOUTS = ("html", "docx", "text_tsv", "text_indented")  # cycled over the reports
SEED = 20261206
RATE = 0.5  # share of labels reworded in the drift kinds

# Words an office swaps for the template's wording; each is generic, none names a particular row.
_SYNONYMS = (
    ("政府信息公开申请", "信息公开申请"), ("政府信息", "信息"), ("本年", "本年度"), ("上年", "上一年度"),
    ("数量", "件数"), ("予以", "准予"), ("属于", "涉及"), ("保护", "涉及"), ("不掌握", "未掌握"),
    ("要求", "申请人要求"), ("行政机关", "本机关"), ("继续办理", "办理"), ("结转", "转入"),
    ("总计", "共计"), ("重复", "重复提出"), ("危及", "可能危及"), ("其他", "其它"), ("申请", "请求"),
)
# Words a shortened label leaves out.
_GENERIC = ("政府信息公开", "政府信息", "数量", "件数", "相关", "属于", "类申请")
# What an office writes after a label too short to reword.
_AROUND = (("", "类"), ("", "事项"), ("", "情形"))
_BRACKETS = re.compile(r"[（(][^）)]*[）)]|[“”\"]")


# ---------------------------------------------------------------------------------------------- rewording
def _known_names(reg: Registry) -> set[str]:
    labels: list[Label] = [*reg.table3_columns, *reg.table4_groups, *reg.table4_outcomes]
    for template in reg.templates.values():
        labels += [*template.table2_rows, *template.table3_rows, *template.table3_groups]
        labels += [c for row in template.table2_rows for c in row.columns]
    return {name for label in labels for name in label.names}


def _variants(text: str) -> dict[str, str]:
    """Rewordings of a label without its numbering → the move that made each."""
    bare = _BRACKETS.sub("", text)
    out = {bare: "abbreviated"} if bare != text else {}
    for old, new in _SYNONYMS:
        if old in bare and not bare.startswith(new):  # "本年" in "本年度…" is already the longer form
            out.setdefault(bare.replace(old, new, 1), "renamed")
    for word in _GENERIC:
        shorter = bare.replace(word, "", 1)
        if shorter != bare and len(shorter) >= 2:
            out.setdefault(shorter, "abbreviated")
    for first, second in [(a, b) for a in list(out) for b in list(out) if out[a] != out[b]]:
        merged = _combine(first, second, bare)
        if merged:
            out.setdefault(merged, "renamed+abbreviated")
    for before, after in _AROUND:
        out.setdefault(f"{before}{bare}{after}", "qualified")
    return out


def _combine(first: str, second: str, base: str) -> str | None:
    """The rewording of `second` applied on top of `first`, when `second` only dropped a word."""
    if len(second) >= len(base):
        return None
    dropped = next((w for w in _GENERIC if base.replace(w, "", 1) == second), None)
    return first.replace(dropped, "", 1) if dropped and dropped in first else None


def reword(label: str, rng: random.Random, known: set[str], taken: set[str]) -> tuple[str, str]:
    """A rewording none of whose normal form is a registry name or another row's; (text, move)."""
    head, dot, text = label.rpartition("·")  # 行政诉讼·复议后起诉: the shared header part stays
    number = render._NUMBERING.match(text)
    text = text[number.end():] if number else text
    options = {v: move for v, move in _variants(text).items()
               if len(normalize_label(v)) >= 2 and normalize_label(head + v) not in known | taken}
    # a qualifier around the label is the last resort, for labels too short to reword
    moves = sorted({m for m in options.values() if m != "qualified"}) or ["qualified"]
    move = rng.choice(moves)
    chosen = rng.choice(sorted(v for v, m in options.items() if m == move))
    taken.add(normalize_label(head + chosen))
    keep_number = number and rng.random() < 0.5
    return head + dot + (number.group(0) if number and keep_number else "") + chosen, move


# ---------------------------------------------------------------------------------------------- drifted registry
@dataclass
class Drift:
    """What one drift rendering changed: row key ("t3.granted") → (printed label, move)."""

    renamed: dict[str, tuple[str, str]] = field(default_factory=dict)
    prose_tables: tuple[str, ...] = ()


def _shuffled(rows: tuple, run_of, rng: random.Random) -> tuple:
    """Rows shuffled within each run of consecutive rows that share `run_of(row)`."""
    out: list = []
    for _, group in groupby(rows, key=run_of):
        run = list(group)
        rng.shuffle(run)
        out += run
    return tuple(out)


def drifted_registry(template_id: str, rng: random.Random, rate: float = RATE) -> tuple[Registry, Drift]:
    reg = registry()
    known, taken = _known_names(reg), set[str]()
    drift = Drift()

    def maybe(label: Label, table: str) -> Label:
        if rng.random() >= rate:
            return label
        text, move = reword(label.label, rng, known, taken)
        drift.renamed[f"{table}.{label.key}"] = (text, move)
        return replace(label, label=text, aliases=())

    template = reg.templates[template_id]
    t2 = _shuffled(tuple(maybe(r, "t2") for r in template.table2_rows), lambda r: r.item, rng)
    # the total row closes its group in every report: it stays last
    t3 = _shuffled(tuple(maybe(r, "t3") for r in template.table3_rows),
                   lambda r: "total" if r.key == "total" else r.group, rng)
    groups = tuple(maybe(g, "t3") for g in template.table3_groups)
    drifted = replace(template, table2_rows=t2, table3_rows=t3, table3_groups=groups)
    reg = replace(reg, templates={**reg.templates, template_id: drifted},
                  table4_groups=tuple(maybe(g, "t4") for g in reg.table4_groups),
                  table4_outcomes=tuple(maybe(o, "t4") for o in reg.table4_outcomes))
    return reg, drift


# ---------------------------------------------------------------------------------------------- sentences
def _bare(label: str) -> str:
    return _BRACKETS.sub("", strip_numbering(label))


def _count(value) -> int | float:
    return 0 if value is None else value


def table2_prose(gold: dict, stated: set[str]) -> list[str]:
    """Every table 2 cell of the report, one sentence per row: "规章方面，本年制发件数为0，…。"."""
    fields = gold["fields"]
    sentences = []
    for row in registry().templates[gold["meta"]["template"]].table2_rows:
        keys = [(f"t2.{row.key}.{c.key}", c) for c in row.columns if f"t2.{row.key}.{c.key}" in fields]
        if keys:
            stated.update(k for k, _ in keys)
            parts = [f"{_bare(c.label)}为{_count(fields[k])}{c.unit or ''}" for k, c in keys]
            sentences.append(f"{_bare(row.label)}方面，{'，'.join(parts)}。")
    return ["".join(sentences)] if sentences else []


def table3_prose(gold: dict, stated: set[str]) -> list[str]:
    reg, fields = registry(), gold["fields"]
    template = reg.templates[gold["meta"]["template"]]

    def say(row, column: str, name: str) -> str | None:
        key = f"t3.{row.key}.{column}"
        if key not in fields:
            return None
        stated.add(key)
        return f"{name}{_count(fields[key])}件"

    rows = {r.key: r for r in template.table3_rows}
    opening = [say(rows["new_received"], "total", f"{_bare(rows['new_received'].label)}为")]
    applicants = [say(rows["new_received"], c.key, c.label) for c in reg.table3_columns[:-1]
                  if fields.get(f"t3.new_received.{c.key}")]
    results = [say(r, "total", _bare(r.label)) for r in template.table3_rows
               if r.result and fields.get(f"t3.{r.key}.total")]
    closing = [say(rows["carried_over"], "total", f"{_bare(rows['carried_over'].label)}为"),
               say(rows["total"], "total", f"{rows['total'].short}为"),
               say(rows["carried_forward"], "total", f"{_bare(rows['carried_forward'].label)}")]
    first = "，".join(filter(None, opening)) + (f"，其中{'、'.join(filter(None, applicants))}" if any(applicants) else "")
    out = [f"{first}；{'；'.join(filter(None, closing[:1]))}。" if any(opening) else ""]
    if any(results):
        out.append(f"办理结果方面，{'，'.join(filter(None, results))}。")
    out.append("；".join(filter(None, closing[1:])) + "。")
    return [line for line in out if line.strip("；。")]


def table4_prose(gold: dict, stated: set[str]) -> list[str]:
    reg, fields = registry(), gold["fields"]
    parts = []
    for group in reg.table4_groups:
        total = f"t4.{group.key}.total"
        if total not in fields:
            continue
        stated.add(total)
        name = "的".join(reversed(group.label.split("·")))  # 行政诉讼·复议后起诉 → 复议后起诉的行政诉讼
        outcomes = [(f"t4.{group.key}.{o.key}", o) for o in reg.table4_outcomes[:-1] if fields.get(f"t4.{group.key}.{o.key}")]
        stated.update(k for k, _ in outcomes)
        detail = "、".join(f"{o.label}{fields[k]}件" for k, o in outcomes)
        parts.append(f"{name}{_count(fields[total])}件" + (f"，其中{detail}" if detail else ""))
    return [f"{'；'.join(parts)}。"] if parts else []


# ---------------------------------------------------------------------------------------------- renderings
@dataclass
class Rendering:
    report: str
    kind: str
    layout: str
    data: bytes
    filename: str
    focus: set[str]  # the gold keys this rendering changed or states
    drift: Drift | None = None


def _row_keys(gold: dict, row_key: str) -> set[str]:
    """Gold keys of a drifted row ("t3.granted") or of every row under a drifted group label."""
    table, name = row_key.split(".", 1)
    return {k for k in gold["fields"] if k.startswith(f"{table}.{name}.")
            or (table == "t4" and k.startswith("t4.") and k.split(".")[2] == name)}


def make(gold: dict, kind: str, layout: str, seed: int = SEED) -> Rendering:
    report = gold.get("id", "report")
    rng = random.Random(f"{seed}:{report}:{kind}")
    stated: set[str] = set()
    prose: dict[str, list[str]] | None
    if kind == "prose_only":
        prose = {"proactive": table2_prose(gold, stated), "requests": table3_prose(gold, stated),
                 "review_litigation": table4_prose(gold, stated)}
        data, name = render.write(render.build_page(gold, prose=prose), layout, f"{report}.{kind}")
        return Rendering(report, kind, layout, data, name, stated)
    reg, drift = drifted_registry(gold["meta"]["template"], rng)
    prose = {"proactive": table2_prose(gold, stated)} if kind == "drift_t2_prose" else None
    drift.prose_tables = ("t2",) if prose else ()
    focus = stated | {k for row in drift.renamed for k in _row_keys(gold, row)
                      if not (prose and k.startswith("t2."))}
    data, name = render.write(render.build_page(gold, reg=reg, prose=prose), layout, f"{report}.{kind}")
    return Rendering(report, kind, layout, data, name, focus, drift)


def renderings(golds: list[dict], kinds: tuple[str, ...] = KINDS, seed: int = SEED) -> list[Rendering]:
    return [make(gold, kind, LAYOUTS[i % len(LAYOUTS)], seed) for i, gold in enumerate(golds) for kind in kinds]


# ---------------------------------------------------------------------------------------------- the run
def _read(rendering: Rendering, gold: dict, llm) -> tuple[list[CellScore], float, Report | None, str | None]:
    """Cells scored against gold, seconds, the Report (None when the pipeline refused the input), error."""
    started = time.perf_counter()
    try:
        _, report = pipeline.read(rendering.data, rendering.filename, llm)
    except pipeline.InputError as exc:
        return score_cells(rendering.report, rendering.kind, gold, {"fields": {}}), 0.0, None, exc.message
    seconds = time.perf_counter() - started
    return score_cells(rendering.report, rendering.kind, gold, report.flat()), seconds, report, None


def _accepted_wrong(report, gold: dict, rendering: Rendering) -> list[dict]:
    """LLM-accepted values gold does not hold: a key the report lacks counts as invented."""
    truth = {**gold["fields"], **{f"meta.{k}": v for k, v in gold["meta"].items()}}
    return [{"report": rendering.report, "kind": rendering.kind, "task": round_.task, "key": key, "value": value,
             "gold": truth.get(key, "（报告无此单元格）")}
            for round_ in report.llm.rounds for key, value in round_.accepted.items()
            if key not in truth or not _agrees(key, truth[key], value)]


def _agrees(key: str, expected, got) -> bool:
    if key == "meta.agency":  # the full or the short name of the same body (淮安市洪泽区人民政府 / 洪泽区人民政府)
        return bool(expected) and bool(got) and one_body(expected, got)
    return expected == got if key.startswith("meta.") else matches(expected, got)


def _rule_wrong(report, cells: list[CellScore]) -> list[str]:
    """Keys the rules filled with a value gold disagrees with (not the ones they left empty)."""
    return [c.key for c in cells if not c.right and c.key in report.fields and report.fields[c.key].method == "rule"]


def run_one(rendering: Rendering, gold: dict, llm_factory) -> dict:
    rules, rules_s, rules_report, error = _read(rendering, gold, None)
    with_llm, llm_s, report, _ = _read(rendering, gold, llm_factory)
    focus = lambda cells: [c for c in cells if c.key in rendering.focus]
    trace = report.llm if report is not None else None
    rounds = trace.rounds if trace else []
    return {
        "report": rendering.report, "kind": rendering.kind, "layout": rendering.layout, "error": error,
        "renamed": {k: v[0] for k, v in rendering.drift.renamed.items()} if rendering.drift else {},
        "focus": sorted(k for k in gold["fields"] if k in rendering.focus),
        "rules": {"all": summarise(rules), "focus": summarise(focus(rules)), "seconds": round(rules_s, 3),
                  "wrong_values": _rule_wrong(rules_report, rules) if rules_report else []},
        "llm": {"all": summarise(with_llm), "focus": summarise(focus(with_llm)), "seconds": round(llm_s, 3),
                "calls": trace.calls if trace else 0,
                "input_tokens": trace.input_tokens if trace else 0, "output_tokens": trace.output_tokens if trace else 0,
                "accepted": sum(len(r.accepted) for r in rounds), "rejected": sum(len(r.rejected) for r in rounds),
                "accepted_wrong": _accepted_wrong(report, gold, rendering) if trace else [],
                "note": trace.note if trace else None},
        "cells": {"rules": rules, "llm": with_llm},
    }


def aggregate(runs: list[dict], kind: str) -> dict:
    mine = [r for r in runs if r["kind"] == kind]
    focus = lambda side: [c for r in mine for c in r["cells"][side] if c.key in set(r["focus"])]
    calls = sum(r["llm"]["calls"] for r in mine)
    model_seconds = sum(max(r["llm"]["seconds"] - r["rules"]["seconds"], 0.0) for r in mine if r["llm"]["calls"])
    return {
        "renderings": len(mine),
        "rules": {"all": summarise([c for r in mine for c in r["cells"]["rules"]]), "focus": summarise(focus("rules")),
                  "wrong_values": sum(len(r["rules"]["wrong_values"]) for r in mine)},
        "llm": {"all": summarise([c for r in mine for c in r["cells"]["llm"]]), "focus": summarise(focus("llm"))},
        "llm_calls": calls, "llm_calls_per_report": round(calls / max(len(mine), 1), 2),
        "input_tokens": sum(r["llm"]["input_tokens"] for r in mine),
        "output_tokens": sum(r["llm"]["output_tokens"] for r in mine),
        "accepted": sum(r["llm"]["accepted"] for r in mine), "rejected": sum(r["llm"]["rejected"] for r in mine),
        "accepted_wrong": sum(len(r["llm"]["accepted_wrong"]) for r in mine),
        "seconds_per_call": round(model_seconds / calls, 2) if calls else None,
    }


def evaluate(golds: list[dict], llm_factory, kinds: tuple[str, ...] = KINDS, seed: int = SEED,
             progress=print) -> list[dict]:
    by_id = {g.get("id"): g for g in golds}
    runs = []
    for rendering in renderings(golds, kinds, seed):
        run = run_one(rendering, by_id[rendering.report], llm_factory)
        runs.append(run)
        progress(f"{rendering.report} · {rendering.kind} · {rendering.layout}: "
                 f"rules {run['rules']['all']['field_accuracy']:.3f}, llm {run['llm']['all']['field_accuracy']:.3f}, "
                 f"{run['llm']['calls']} calls, {len(run['llm']['accepted_wrong'])} accepted wrong")
    return runs


# ---------------------------------------------------------------------------------------------- output
def _model(config, bundled: bool) -> dict:
    from importlib.metadata import version

    from service.llm import local

    return {"name": config.model, "package": f"{local.MODEL_PACKAGE.replace('_', '-')} {version(local.MODEL_PACKAGE.replace('_', '-'))}"
            if bundled else None, "endpoint": "bundled llama.cpp server on 127.0.0.1" if bundled else "NIANBAO_LLM_BASE_URL"}


def result(runs: list[dict], kinds: tuple[str, ...], model: dict, config: dict) -> dict:
    return {"model": model, "by_kind": {kind: aggregate(runs, kind) for kind in kinds},
            "runs": {kind: {"config": config,
                            "accepted_wrong": [w for r in runs if r["kind"] == kind for w in r["llm"]["accepted_wrong"]],
                            "renderings": [{k: v for k, v in r.items() if k != "cells"} for r in runs if r["kind"] == kind]}
                     for kind in kinds}}


def save(out: Path, figures: dict) -> dict:
    """One entry per model, one part per kind: a run of some kinds replaces only those; returns the entry."""
    saved = json.loads(out.read_text("utf-8")) if out.exists() else {}
    entry = saved.setdefault("models", {}).setdefault(figures["model"]["name"], {"by_kind": {}, "runs": {}})
    entry["model"] = figures["model"]
    entry["by_kind"].update(figures["by_kind"])
    entry["runs"].update(figures["runs"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(saved, ensure_ascii=False, indent=1), encoding="utf-8")
    return entry


def print_table(figures: dict) -> None:
    pct = lambda v: "—" if v is None else f"{v:.1%}"
    print(f"model {figures['model']['name']} ({figures['model']['package'] or figures['model']['endpoint']})")
    print(f"{'kind':<16}{'n':>3}  {'all: rules → llm':>18}  {'non-zero: rules → llm':>22}  {'focus: rules → llm':>19}"
          f"  {'calls/rep':>9}  {'s/call':>6}  {'acc/rej':>8}  {'acc≠gold':>8}")
    for kind, k in figures["by_kind"].items():
        rules, llm = k["rules"], k["llm"]
        print(f"{kind:<16}{k['renderings']:>3}  "
              f"{pct(rules['all']['field_accuracy']):>8} → {pct(llm['all']['field_accuracy']):<7}  "
              f"{pct(rules['all']['nonzero_accuracy']):>11} → {pct(llm['all']['nonzero_accuracy']):<8}  "
              f"{pct(rules['focus']['field_accuracy']):>8} → {pct(llm['focus']['field_accuracy']):<8}  "
              f"{k['llm_calls_per_report']:>9}  {k['seconds_per_call'] or '—':>6}  "
              f"{k['accepted']:>3}/{k['rejected']:<4}  {k['accepted_wrong']:>8}")


def main(argv: list[str] | None = None) -> None:
    from service.llm import LLM, local
    from service.settings import Settings

    parser = argparse.ArgumentParser(description="Drift and prose-only renderings: rules alone vs rules + LLM.")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--sample", type=int, help="this many gold reports, chosen with the seed (default: all)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--configured", action="store_true", help="the NIANBAO_LLM_* endpoint instead of the bundled model")
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "results" / "drift.json")
    args = parser.parse_args(argv)
    golds = [json.loads((d / "gold.json").read_text("utf-8")) for d in gold_reports(GOLD_DIRS)]
    if args.sample:
        golds = sorted(random.Random(args.seed).sample(golds, min(args.sample, len(golds))), key=lambda g: g["id"])
    kinds = tuple(args.kinds)
    with tempfile.TemporaryDirectory() as data_dir:
        process, config = (None, Settings().llm_config()) if args.configured else local.start(Path(data_dir))
        try:
            config = config.model_copy(update={"cache_dir": None})  # every call reaches the model, to time it
            runs = evaluate(golds, lambda: LLM(config), kinds, args.seed)
        finally:
            if process:
                process.terminate()
                process.wait(timeout=30)
    figures = result(runs, kinds, _model(config, not args.configured),
                     {"seed": args.seed, "rate": RATE, "kinds": list(kinds), "layouts": list(LAYOUTS),
                      "reports": [g["id"] for g in golds], "sampled": bool(args.sample)})
    print_table(save(args.out, figures))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
