"""Rules, rules + the bundled model, the bundled model alone: one table over the gold reports and
their modalities, with accuracy, calls, tokens and wall seconds per report (issue 16).

Inputs, in this order: every gold report as published ("source"); the drift renderings of
eval/drift.py (reworded row labels, table 2 in prose, tables only in prose; its own seed); a
fixed-seed sample of the other modalities of `nianbao eval` (re-rendered text, HTML, Word, PDF,
scans, photos, flattened text). Each input is read three ways:
- rules            `--llm off`;
- rules + bundled  `--llm auto` with only the bundled model (asked what it may answer, within the
                   per-report budget of 60 s and 8 calls);
- bundled alone    the peers' one-call approach (`--llm only`), held to the same per-report budget.
Calls and tokens (prompt + completion) are the chain's own counters (report.llm, from the server's
`usage`); seconds are wall seconds of one read, ingest included, the server's start apart. A read
that reaches the budget's end may leave llama.cpp still writing the answer its client gave up on
(it finishes a request whose client left), so the server is started afresh before the next read.

Run `python -m eval.sidebyside` → eval/results/llm_side_by_side.json and .md, rewritten after each
input (a run cut short keeps the inputs done).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from eval import drift, suite
from eval.score import summarise
from service.llm.config import LLMConfig

CONFIGURATIONS = ("rules", "rules + bundled", "bundled alone")
GROUPS = ("source", "drift", "sampled")
SEED = 20261204
SAMPLED = 6  # other (report, modality) pairs: the bundled model alone spends its whole budget on each
OUT = drift.ROOT / "eval" / "results" / "llm_side_by_side.json"


@dataclass(frozen=True)
class Input:
    report: str
    modality: str
    group: str
    gold: dict
    data: bytes
    name: str


def inputs(report_dirs: list[Path], sampled: int = SAMPLED, seed: int = SEED) -> list[Input]:
    """Every report's source, its drift renderings, then `sampled` other (report, modality) pairs."""
    golds = [(d, json.loads((d / "gold.json").read_text("utf-8"))) for d in report_dirs]
    by_id = {gold["id"]: gold for _, gold in golds}
    source = [Input(gold["id"], "source", "source", gold, *suite.input_of(d, gold, "source")) for d, gold in golds]
    drifted = [Input(r.report, f"{r.kind}/{r.layout}", "drift", by_id[r.report], r.data, r.filename)
               for r in drift.renderings([gold for _, gold in golds])]
    others = [(d, gold, m) for d, gold in golds for m in suite.MODALITIES if m != "source"]
    picked = random.Random(seed).sample(others, min(sampled, len(others)))
    return source + drifted + [Input(gold["id"], m, "sampled", gold, *suite.input_of(d, gold, m))
                               for d, gold, m in picked]


class Model:
    """The model both LLM configurations ask, started by `start` (a process, or None, and its config);
    `fresh` starts it again."""

    def __init__(self, start: Callable[[], tuple[subprocess.Popen | None, LLMConfig]]) -> None:
        self._start = start
        self.process, self.config = start()

    def factory(self):
        from service.llm.provider import factory

        return factory(self.config, Path(tempfile.gettempdir()))

    def fresh(self) -> None:
        self.stop()
        self.process, self.config = self._start()

    def stop(self) -> None:
        from service.llm import local

        if self.process is not None:
            local.stop(self.process)


def read(item: Input, configuration: str, model: Model) -> suite.Run:
    llm = None if configuration == "rules" else model.factory()
    run = suite.run_input(item.report, item.modality, item.gold, item.data, item.name, llm,
                          llm_only=configuration == "bundled alone", budgeted=True)
    if run.seconds >= model.config.budget_seconds:
        model.fresh()
    return run


def _spread(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "max": round(max(values), 3),
            "mean": round(statistics.fmean(values), 3), "total": round(sum(values), 3)} if values else {}


def summary(runs: list[suite.Run]) -> dict:
    """Accuracy over the runs' cells, and calls, tokens and seconds per report."""
    return {"inputs": len(runs), **summarise([c for r in runs for c in r.cells]),
            "errors": sum(r.error is not None for r in runs),
            "calls": _spread([r.llm_calls for r in runs]), "tokens": _spread([r.llm_tokens for r in runs]),
            "seconds": _spread([r.seconds for r in runs])}


def _row(item: Input, runs: dict[str, suite.Run]) -> dict:
    return {"report": item.report, "modality": item.modality, "group": item.group,
            **{name: {**summarise(run.cells), "calls": run.llm_calls, "tokens": run.llm_tokens,
                      "seconds": round(run.seconds, 3), "error": run.error} for name, run in runs.items()}}


def result(items: list[Input], done: list[dict[str, suite.Run]], model: Model, sample: dict) -> dict:
    pairs = list(zip(items, done))
    return {
        "what": "rules (--llm off), rules + the bundled model (--llm auto), the bundled model alone "
                "(--llm only) on the same inputs, each held to the bundled model's per-report budget",
        "date": date.today().isoformat(),
        "machine": {"cores": os.cpu_count(), "shared": True, "load_average": os.getloadavg()},
        "model": model.config.model,
        "budget": {"seconds": model.config.budget_seconds, "calls": model.config.budget_calls},
        "sample": {**sample, "inputs_done": len(done), "inputs_planned": len(items)},
        "configurations": {name: summary([runs[name] for runs in done]) for name in CONFIGURATIONS},
        "by_group": {group: {name: summary([runs[name] for item, runs in pairs if item.group == group])
                             for name in CONFIGURATIONS} for group in GROUPS},
        "inputs": [_row(item, runs) for item, runs in pairs],
    }


def sample_of(items: list[Input], report_dirs: list[Path], sampled: int, seed: int) -> dict:
    """What was read, said exactly."""
    return {"gold_dirs": sorted({str(d.parent) for d in report_dirs}), "reports": len(report_dirs),
            "source": "every gold report as published",
            "drift": {"kinds": list(drift.KINDS), "layouts": list(drift.LAYOUTS), "seed": drift.SEED,
                      "renderings": sum(i.group == "drift" for i in items)},
            "sampled": {"seed": seed, "from": "every gold report × every other modality of nianbao eval",
                        "pool": len(report_dirs) * (len(suite.MODALITIES) - 1),
                        "pairs": [[i.report, i.modality] for i in items if i.group == "sampled"]}}


def _pct(value) -> str:
    return "—" if value is None else f"{value:.1%}"


def _cells(s: dict) -> list[str]:
    spread = lambda k, f: f"{f(s[k]['median'])} · {f(s[k]['max'])}" if s[k] else "—"
    return [str(s["inputs"]), _pct(s["field_accuracy"]), _pct(s["nonzero_accuracy"]),
            spread("calls", lambda v: f"{v:g}"), spread("tokens", lambda v: f"{v:g}"),
            spread("seconds", lambda v: f"{v:.1f}")]


_HEAD = ("inputs", "fields", "non-zero cells", "calls / report (median · max)",
         "tokens / report (median · max)", "seconds / report (median · max)")


def markdown(figures: dict) -> str:
    lines = ["| configuration | " + " | ".join(_HEAD) + " |", "|---" * (len(_HEAD) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(_cells(s)) + " |" for name, s in figures["configurations"].items()]
    lines += ["", "| input group | configuration | " + " | ".join(_HEAD) + " |", "|---" * (len(_HEAD) + 2) + "|"]
    lines += [f"| {group} | {name} | " + " | ".join(_cells(s)) + " |"
              for group, by_name in figures["by_group"].items() for name, s in by_name.items() if s["inputs"]]
    return "\n".join(lines) + "\n"


def save(out: Path, figures: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, ensure_ascii=False, indent=1), "utf-8")
    out.with_suffix(".md").write_text(markdown(figures), "utf-8")


def run(items: list[Input], model: Model, sample: dict, out: Path | None = None) -> dict:
    """Every input read the three ways, figures rewritten to `out` after each."""
    done: list[dict[str, suite.Run]] = []
    for item in items:
        done.append({name: read(item, name, model) for name in CONFIGURATIONS})
        print(f"{len(done)}/{len(items)} {item.report} · {item.modality}: " + "; ".join(
            f"{name} {_pct(summarise(one.cells)['field_accuracy'])} {one.llm_calls} calls {one.seconds:.1f} s"
            for name, one in done[-1].items()), flush=True)
        if out is not None:
            save(out, result(items, done, model, sample))
    return result(items, done, model, sample)


@contextmanager
def bundled(data_dir: Path) -> Iterator[Model]:
    """The bundled server, every call reaching the model (no answer cache), stopped at the end."""
    from service.llm import local

    def start():
        process, config = local.start(data_dir)
        return process, config.model_copy(update={"cache_dir": None})

    model = Model(start)
    try:
        yield model
    finally:
        model.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rules, rules + bundled model, bundled model alone, side by side.")
    parser.add_argument("--gold", type=Path, nargs="+", default=drift.GOLD_DIRS, help="gold directories")
    parser.add_argument("--sampled", type=int, default=SAMPLED, help="other (report, modality) pairs, chosen with the seed")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUT, help="JSON; the Markdown table goes beside it (.md)")
    args = parser.parse_args(argv)
    report_dirs = suite.gold_reports(args.gold)
    items = inputs(report_dirs, args.sampled, args.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as data_dir, bundled(Path(data_dir)) as model:
        figures = run(items, model, sample_of(items, report_dirs, args.sampled, args.seed), args.out)
    print(markdown(figures))
    print(f"{len(items)} inputs in {time.monotonic() - started:.0f} s; written to {args.out}")


if __name__ == "__main__":
    main()
