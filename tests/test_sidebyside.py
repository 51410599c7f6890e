"""The side-by-side runner (eval/sidebyside.py) against a scripted OpenAI-compatible endpoint: the
three configurations on the same inputs, their calls and tokens the chain's own counters."""

from __future__ import annotations

import json
import re

from eval import sidebyside
from tests.conftest import gold_report_dirs
from tests.scripted_llm import scripted, task, user
from tests.test_llm_chain import REPORT, right

REPORT_DIR = next(d for d in gold_report_dirs() if d.name == REPORT)
USAGE = 15  # tokens the scripted endpoint reports for every answer (10 prompt + 5 completion)


def answers(messages: list[dict]) -> str:
    """The row labels right; the whole report as all blanks, one value per listed field."""
    if "报告全文" in user(messages):
        return json.dumps({f"f{n}": None for n in re.findall(r"^f(\d+)：", user(messages), re.M)})
    return right(messages)


def _model(endpoint, starts: list[int] | None = None, **budget) -> sidebyside.Model:
    def start():
        if starts is not None:
            starts.append(1)
        return None, endpoint.config(capable=False, **budget)

    return sidebyside.Model(start)


def test_three_configurations_with_the_chains_calls_and_tokens() -> None:
    items = sidebyside.inputs([REPORT_DIR], sampled=1)
    assert [i.group for i in items] == ["source", "drift", "drift", "drift", "sampled"]
    with scripted(answers) as endpoint:
        figures = sidebyside.run(items, _model(endpoint, budget_seconds=60, budget_calls=8), {})
    by_name = figures["configurations"]
    assert list(by_name) == ["rules", "rules + bundled", "bundled alone"]
    assert all(s["inputs"] == len(items) for s in by_name.values())
    assert by_name["rules"]["calls"]["total"] == by_name["rules"]["tokens"]["total"] == 0
    whole = sum("报告全文" in user(r) for r in endpoint.requests)
    assert by_name["bundled alone"]["calls"]["total"] == whole == len(items)
    chain = sum(task(r) in ("map_rows", "read_meta") for r in endpoint.requests)
    assert by_name["rules + bundled"]["calls"]["total"] == chain >= 3  # the drift rendering's three rows
    for name in ("rules + bundled", "bundled alone"):
        assert by_name[name]["tokens"]["total"] == USAGE * by_name[name]["calls"]["total"]
    drifted = next(row for row in figures["inputs"] if row["modality"] == "drift/html")
    assert drifted["rules + bundled"]["field_accuracy"] > drifted["rules"]["field_accuracy"]
    table = sidebyside.markdown(figures)
    assert all(f"| {name} | {len(items)} |" in table for name in by_name)


def test_a_read_cut_at_the_budgets_end_starts_the_model_afresh() -> None:
    starts: list[int] = []
    item = sidebyside.inputs([REPORT_DIR], sampled=0)[0]
    with scripted(answers, delay=2) as endpoint:
        model = _model(endpoint, starts, budget_seconds=1, budget_calls=8)
        run = sidebyside.read(item, "bundled alone", model)
    assert run.llm_calls == 1 and run.llm_tokens == 0 and not run.error  # cut: no answer, no usage
    assert len(starts) == 2
