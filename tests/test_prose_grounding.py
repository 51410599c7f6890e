"""The words-support gate that decides which prose figures the chain may keep, without a model:
over prose-only renderings of every gold report, the one field the words before a printed number
name is the field gold holds that number for, or none."""

from __future__ import annotations

import pytest

from eval import drift
from eval.score import matches
from service.llm.chain import _PRINTED_NUMBER, _TABLE_SECTION, _prose, supported_field
from service.pipeline import read
from service.registry import registry
from tests.conftest import gold_report_dirs, load_gold

GOLDS = [load_gold(d) for d in gold_report_dirs()]


def _value(printed: str) -> float:
    return float(printed.replace(",", "").replace("−", "-").rstrip("."))


def _named(gold: dict) -> tuple[int, int, list[str]]:
    """(numbers printed in the tables' prose, numbers given a field, fields given a wrong number)."""
    rendering = drift.make(gold, "prose_only", "html")
    _, report = read(rendering.data, rendering.filename)
    template = registry().template(report.meta.template)
    printed = named = 0
    wrong = []
    for table, section in _TABLE_SECTION.items():
        keys = [k for k in template.keys if template.fields[k].table == table]
        text = _prose(report.sections.get(section) or "")
        for number in _PRINTED_NUMBER.finditer(text):
            printed += 1
            key = supported_field(text, number.start(), keys)
            if key:
                named += 1
                if not matches(gold["fields"].get(key), _value(number.group(0))):
                    wrong.append(f"{key} = {number.group(0)} (gold {gold['fields'].get(key)})")
    return printed, named, wrong


@pytest.mark.parametrize("gold", GOLDS, ids=[g["id"] for g in GOLDS])
def test_the_words_before_a_prose_number_never_name_a_field_gold_disagrees_with(gold) -> None:
    printed, named, wrong = _named(gold)
    assert wrong == []
    assert printed and named >= 0.8 * printed, f"{named}/{printed} numbers named"


def test_a_clause_that_names_a_row_and_a_column_alike_names_neither() -> None:
    keys = list(registry().templates["2021"].fields)
    text = "本年新收政府信息公开申请数量为12件，其中自然人10件、其他2件；"
    assert supported_field(text, text.index("12"), keys) == "t3.new_received.total"
    assert supported_field(text, text.index("10"), keys) == "t3.new_received.natural_person"
    assert supported_field(text, text.rindex("2件"), keys) is None
