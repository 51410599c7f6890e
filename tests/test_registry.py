"""The registry is the single source of keys, labels and identities."""

from __future__ import annotations

import re

from service.registry import registry
from tests.conftest import GOLD_DIRS, ROOT, gold_report_dirs, load_gold

FORMAT_MD = ROOT.parent / "shared" / "gold" / "FORMAT.md"


def test_gold_is_present() -> None:
    assert GOLD_DIRS[0].is_dir(), "../shared/gold must sit beside the repo"
    assert gold_report_dirs(), "no gold reports found"


def test_template_keys_are_those_of_format_md() -> None:
    """Each key named in FORMAT.md's tables belongs to at least one template, and vice versa."""
    text = FORMAT_MD.read_text("utf-8")
    t3_rows = set(re.findall(r"^\| ([a-z_.]+) \| [^|]+\|$", text, flags=re.M)) - {"key", "row"}
    t3_columns = set(re.findall(r"`([a-z_]+)` [\u4e00-\u9fff]+", text.split("Columns:")[1].split("|")[0]))
    reg = registry()
    all_keys = {k for t in reg.templates.values() for k in t.keys}
    assert {k.split(".", 1)[1].rsplit(".", 1)[0] for k in all_keys if k.startswith("t3.")} == t3_rows
    assert {k.rsplit(".", 1)[1] for k in all_keys if k.startswith("t3.")} == t3_columns
    # table 2 cells + table 3 rows × 7 columns + table 4's 15 cells, counted from FORMAT.md by hand:
    # 2019 prints row （六） whole (23 rows), 2021 splits it in three (25 rows).
    assert len(reg.templates["2019"].keys) == 22 + 23 * 7 + 15
    assert len(reg.templates["2021"].keys) == 10 + 25 * 7 + 15


def test_gold_reports_use_only_template_keys() -> None:
    for report_dir in gold_report_dirs():
        gold = load_gold(report_dir)
        keys = set(registry().templates[gold["meta"]["template"]].keys)
        assert set(gold["fields"]) <= keys, report_dir.name


def test_identities_expand_over_every_column_row_and_group() -> None:
    reg = registry()
    for template in reg.templates.values():
        by_rule: dict[str, list] = {}
        for identity in template.identities:
            by_rule.setdefault(identity.id, []).append(identity)
            assert set(identity.lhs + identity.rhs) <= set(template.fields)
        assert len(by_rule["t3.balance"]) == len(reg.table3_columns)
        assert len(by_rule["t3.row_sum"]) == len(template.table3_rows)
        assert len(by_rule["t4.group_sum"]) == len(reg.table4_groups)
        assert len(by_rule["t3.column_sum"][0].rhs) == sum(r.result for r in template.table3_rows)


def test_no_two_rows_of_a_table_share_a_name() -> None:
    for template in registry().templates.values():
        for rows in (template.table2_rows, template.table3_rows):
            names = [name for row in rows for name in row.names]
            assert len(names) == len(set(names)), template.id
