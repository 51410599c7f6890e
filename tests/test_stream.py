"""Text whose tables lost their grid, read by the template (service/extract/stream.py).

Small hand-written inputs, each a way real text arrives, with what a careful reader takes from it;
tests/test_flatten.py runs every gold report through every flattening of eval/flatten.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from eval.flatten import Recipe, flatten
from service.extract import extract
from service.ingest import load
from service.pipeline import extract_bytes
from tests.conftest import GOLD_DIRS, load_gold, provenance

NIANBAO = Path(sys.executable).parent / "nianbao"
PINGTAN_2021 = load_gold(GOLD_DIRS[1] / "pingtan-experimental-zone-2021")
T3_COLUMNS = ("natural_person", "commercial", "research", "social_welfare", "legal_services", "other_org", "total")
HEAD = "某局2021年政府信息公开工作年度报告\n三、收到和处理政府信息公开申请情况\n"


def _row(text: str, row: str) -> dict:
    values = extract(load((HEAD + text).encode(), "r.txt")).values()
    return {column: values.get(f"t3.{row}.{column}", "MISSING") for column in T3_COLUMNS}


def _t3(*numbers) -> dict:
    return dict(zip(T3_COLUMNS, numbers))


@pytest.mark.parametrize("text", [
    "本年新收政府信息公开申请数量\t3\t\t\t1\t\t\t4\n",  # tabs: a blank cell is two tabs
    "| 本年新收政府信息公开申请数量 | 3 |  |  | 1 |  |  | 4 |\n",  # framed bars
    "本年新收政府信息公开申请数量 | 3 |  |  | 1 |  |  | 4\n",  # bars between cells only
    "本年新收政府信息公开申请数量\n3\n\n\n1\n\n\n4\n",  # one cell per line, a blank as an empty line
    "本年新收政府信息公开申请数量\n\n3\n\n\n\n\n\n1\n\n\n\n\n\n4\n",  # an empty line between cells
    "\t本年新收政府信息公开申请数量\n\t3\n\t\n\t\n\t1\n\t\n\t\n\t4\n\n",  # Word's tab-indented cells
    "本年新收政府信息公开申请数量|\n3|\n|\n|\n1|\n|\n|\n4|\n",  # a bar after every cell
    "本年新收政府信息公开申请数量┃3┃┃┃1┃┃┃4\n",  # any separator character
    "本年新收政府信息公开申请数量3 — — 1 — — 4\n",  # label glued to its first number, dashes for blanks
])
def test_blank_cells_are_counted_from_whatever_parts_the_cells(text) -> None:
    assert _row(text, "new_received") == _t3(3, None, None, 1, None, None, 4)


def test_text_aligned_in_columns_places_numbers_under_their_header_cells() -> None:
    text = ("                      自然人  商业企业  科研机构  社会公益  法律服务  其他  总计\n"
            "                                                  组织      机构\n"
            "一、本年新收政府信息     3                           1                       4\n"
            "公开申请数量\n")
    values = _row(text, "new_received")
    assert values == _t3(3, None, None, 1, None, None, 4)
    report = extract(load((HEAD + text).encode(), "r.txt"))
    assert provenance(report.fields["t3.new_received.social_welfare"]).grid == "columns"


def test_values_point_at_their_printed_text_and_say_how_the_row_was_rebuilt() -> None:
    text = HEAD + "本年新收政府信息公开申请数量\t1,203\t\t\t１\t\t\t1,204\n"
    document = load(text.encode(), "r.txt")
    fields = extract(document).fields
    first, blank = fields["t3.new_received.natural_person"], fields["t3.new_received.commercial"]
    assert first.value == 1203 and fields["t3.new_received.social_welfare"].value == 1
    where = provenance(first).location
    assert document.text[where.start:where.end] == "1,203"
    assert provenance(first).grid == "separator" and blank.value is None and provenance(blank).raw == ""


def test_a_label_wrapped_below_its_numbers_is_finished_from_its_column() -> None:
    text = ("（六）其他处理  1.申请人无正当理由逾    2    0    0    0    0    0    2\n"
            "                期不补正、行政机关不\n"
            "                再处理其政府信息公开\n"
            "                申请\n"
            "                2.申请人逾期未按收费  0    0    0    0    0    0    0\n"
            "                通知要求缴纳费用、行\n"
            "                政机关不再处理其政府\n"
            "                信息公开申请\n")
    assert _row(text, "other_handling.no_correction") == _t3(2, 0, 0, 0, 0, 0, 2)
    assert _row(text, "other_handling.fee_unpaid") == _t3(0, 0, 0, 0, 0, 0, 0)


def test_prose_with_numbers_is_not_read_as_a_table_row() -> None:
    text = ("某市2024年政府信息公开工作年度报告\n一、总体情况\n"
            "本年度共收到行政复议 12 件，其中结果维持 7 件，结果纠正 2 件，尚\n"
            "未审结 3 件；行政诉讼 5 件，其中结果维持 4 件\n")
    with pytest.raises(ValueError):  # no table row, no section beyond 一: not a report
        extract(load(text.encode(), "r.txt"))


def _unreadable_table_3() -> bytes:
    """Pingtan 2021 as tab-separated text with every row of table 3 cut to four numbers."""
    text = flatten(PINGTAN_2021, Recipe("tsv")).decode()
    t3 = text.index("三、收到和处理政府信息公开申请情况")
    t4 = text.index("四、政府信息公开行政复议、行政诉讼情况")
    cut = "\n".join("\t".join(line.split("\t")[:-3]) if line.count("\t") >= 7 else line
                    for line in text[t3:t4].split("\n"))
    return (text[:t3] + cut + text[t4:]).encode()


def test_an_unreadable_table_is_named_with_why_and_the_others_are_kept() -> None:
    report = extract_bytes(_unreadable_table_3(), "r.txt")
    values = report.values()
    assert [t.table for t in report.incomplete] == ["t3"]
    assert report.incomplete[0].read == 0 and "表三" in report.incomplete[0].reason
    assert not any(key.startswith("t3.") for key in values)  # never filled with zeros
    for key, expected in PINGTAN_2021["fields"].items():
        if not key.startswith("t3."):
            assert values[key] == expected, key


def test_the_cli_exits_3_and_names_the_unread_table(tmp_path) -> None:
    source = tmp_path / "report.txt"
    source.write_bytes(_unreadable_table_3())
    done = subprocess.run([str(NIANBAO), "extract", str(source), "--llm", "off"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 3
    assert "未读出表三" in done.stderr
    assert '"incomplete"' in done.stdout and '"t3"' in done.stdout


def test_numbers_whose_blank_cells_left_no_trace_go_where_the_identities_hold() -> None:
    """Single spaces part the cells and blanks print nothing: only the table's sums tell where the
    three numbers of 本年新收 stand."""
    text = ("一、本年新收政府信息公开申请数量 3 1 4\n"
            "二、上年结转政府信息公开申请数量 0 0 0 0 0 0 0\n"
            "三、本年度办理结果 （一）予以公开 3 0 0 1 0 0 4\n"
            "（七）总计 3 0 0 1 0 0 4\n"
            "四、结转下年度继续办理 0 0 0 0 0 0 0\n")
    report = extract(load((HEAD + text).encode(), "r.txt"))
    values = {column: report.values().get(f"t3.new_received.{column}") for column in T3_COLUMNS}
    assert values == _t3(3, None, None, 1, None, None, 4)
    assert provenance(report.fields["t3.new_received.social_welfare"]).grid == "identities"
    assert not [row for row in report.unplaced if "本年新收" in row.label]


def test_numbers_no_identity_places_stay_unplaced() -> None:
    text = "某局2021年政府信息公开工作年度报告\n二、主动公开政府信息情况\n行政许可 5\n" + HEAD.split("\n", 1)[1] + \
        "一、本年新收政府信息公开申请数量 3 1 4\n"  # the row's own sum holds wherever 3 and 1 stand
    report = extract(load(text.encode(), "r.txt"))
    assert "t3.new_received.total" not in report.values()
    assert [row.values for row in report.unplaced] == [["3", "1", "4"]]


def test_a_table_completed_by_corrections_is_no_longer_listed() -> None:
    report = extract_bytes(_unreadable_table_3(), "r.txt")
    for key in report.missing:
        report.fields[key] = report.fields["t2.licensing.decisions"].model_copy(update={"value": 0})
    report.recount_tables()
    assert report.incomplete == []
