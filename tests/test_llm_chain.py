"""The chain driven by a scripted OpenAI-compatible endpoint on 127.0.0.1 (tests/scripted_llm.py):
what the model answers must show in the values, the calls and the provenance, within the report's
budget, and only the tasks the model is trusted with are asked."""

from __future__ import annotations

import json
import time

import pytest

from eval import drift
from service.llm import LLM, assist
from service.pipeline import read
from service.report import FieldValue
from tests.conftest import gold_report_dirs, load_gold
from tests.scripted_llm import scripted, task, user

REPORT = "pingtan-experimental-zone-2022"
GOLD = load_gold(next(d for d in gold_report_dirs() if d.name == REPORT))
# the drift rendering's three rows the rules cannot place, and the template rows they are
ROWS = {"准予公开": "granted", "重复请求": "not_processed.repeated", "（六）其它处理 3.其他": "other_handling.other"}
# the prose-only rendering's table 4 sentence, each number with its field
T4 = [("t4.review.total", "2", "行政复议2"), ("t4.review.corrected", "1", "其中结果纠正1"),
      ("t4.review.other", "1", "其他结果1"), ("t4.litigation_direct.total", "1", "未经复议直接起诉的行政诉讼1"),
      ("t4.litigation_direct.upheld", "1", "其中结果维持1"), ("t4.litigation_after_review.total", "0", "复议后起诉的行政诉讼0")]


def right(messages: list[dict]) -> str:
    text = user(messages)
    if task(messages) == "map_rows":
        label = text.split("待判断的行名：“", 1)[1].split("”\n", 1)[0]
        return json.dumps({"key": ROWS.get(label)})
    if task(messages) == "read_prose":
        figures = [{"key": k, "number": n, "quote": q} for k, n, q in T4 if f"\n{k}：" in text]
        return json.dumps({"figures": figures}, ensure_ascii=False)
    return "{}"


def wrong(messages: list[dict]) -> str:
    """Real keys and printed numbers, each under another row or field."""
    text = user(messages)
    if task(messages) == "map_rows":
        label = text.split("待判断的行名：“", 1)[1].split("”\n", 1)[0]
        others = [v for v in ROWS.values() if v != ROWS.get(label)]
        return json.dumps({"key": others[0]})
    if task(messages) == "read_prose":
        keys = [k for k, _, _ in T4]
        figures = [{"key": keys[(i + 1) % len(keys)], "number": n, "quote": q} for i, (_, n, q) in enumerate(T4)
                   if f"\n{keys[(i + 1) % len(keys)]}：" in text]
        return json.dumps({"figures": figures}, ensure_ascii=False)
    return "{}"


def silent(messages: list[dict]) -> None:
    return None


def _drifted():
    rendering = drift.make(GOLD, "drift", "html")
    return read(rendering.data, rendering.filename)


def _table4_in_prose():
    """Tables 2 and 3 as if read by the rules, table 4 only in the prose the rendering prints."""
    rendering = drift.make(GOLD, "prose_only", "html")
    document, report = read(rendering.data, rendering.filename)
    for key in [k for k in report.missing if not k.startswith("t4.") and k in GOLD["fields"]]:
        report.fields[key] = FieldValue(value=GOLD["fields"][key], method="rule", confidence=1.0)
        report.missing.remove(key)
    return document, report


def _run(script, make_report, **config):
    document, report = make_report()
    with scripted(script) as endpoint:
        llm = LLM(endpoint.config(**config))
        assist(document, report, llm)
    return report, endpoint


def _by_llm(report) -> dict:
    return {k: f.value for k, f in report.fields.items() if f.method == "llm"}


# ---------------------------------------------------------------------------------------------- answers matter
def test_right_row_answers_place_the_rows_and_wrong_or_empty_ones_place_none() -> None:
    rules = _drifted()[1]
    good, good_endpoint = _run(right, _drifted, capable=False)
    bad, _ = _run(wrong, _drifted, capable=False)
    empty, empty_endpoint = _run(silent, _drifted, capable=False)
    placed = _by_llm(good)
    assert {k.split(".", 1)[1].rsplit(".", 1)[0] for k in placed} == set(ROWS.values())
    assert all(GOLD["fields"].get(k, 0) == v or (GOLD["fields"].get(k) is None and v == 0) for k, v in placed.items())
    assert len(good.unplaced) == len(rules.unplaced) - 3
    assert all(good.fields[k].provenance.raw for k in placed)  # the printed cells, not the model's numbers
    assert _by_llm(bad) == {} and bad.values() == rules.values()
    assert _by_llm(empty) == {} and empty.values() == rules.values()
    assert len(good_endpoint.requests) == 3 and good.llm.calls == 3
    assert len(empty_endpoint.requests) == 9  # each question asked again twice with the validation error
    assert all(r.rejected for r in bad.llm.rounds if r.task == "map_rows")


def test_right_prose_answers_fill_table_4_with_grounded_values_and_wrong_ones_fill_nothing_wrong() -> None:
    before = _table4_in_prose()[1]
    good, endpoint = _run(right, _table4_in_prose)
    bad, _ = _run(wrong, _table4_in_prose)
    empty, _ = _run(silent, _table4_in_prose)
    read_by_model = _by_llm(good)
    assert len(read_by_model) >= 5 and all(k.startswith("t4.") for k in read_by_model)
    assert all(GOLD["fields"][k] == v for k, v in read_by_model.items())
    for key in read_by_model:
        where = good.fields[key].provenance.location
        assert good.fields[key].provenance.raw == str(GOLD["fields"][key]) and where.end > where.start
    prose = [r for r in good.llm.rounds if r.task == "read_prose"]
    assert len(prose) == 1 and prose[0].prompt_version == "read_prose/4"  # one question for the table, not per number
    assert all(GOLD["fields"][k] == v for k, v in _by_llm(bad).items())
    assert len(_by_llm(bad)) < len(read_by_model)
    assert _by_llm(empty) == {} and empty.values() == before.values()


# ---------------------------------------------------------------------------------------------- what is asked
def test_a_small_model_is_not_asked_for_prose_tables_and_the_note_says_to_configure_an_endpoint() -> None:
    report, endpoint = _run(right, _table4_in_prose, capable=False)
    assert endpoint.requests == [] and _by_llm(report) == {}
    assert "请配置大模型端点 NIANBAO_LLM_*" in report.llm.note and "表四" in report.llm.note


# ---------------------------------------------------------------------------------------------- the budget
def test_the_call_budget_stops_the_chain_and_the_note_says_what_was_left_unread() -> None:
    report, endpoint = _run(right, _drifted, capable=False, budget_calls=2)
    assert len(endpoint.requests) == 2 and report.llm.calls == 2
    assert len(_by_llm(report)) > 0  # what was read within the budget stays
    assert "2 次调用" in report.llm.note and "未读" in report.llm.note and "其它处理" in report.llm.note


def test_the_seconds_budget_bounds_the_wall_time_of_a_slow_model() -> None:
    document, report = _drifted()
    with scripted(right, delay=1.5) as endpoint:
        llm = LLM(endpoint.config(capable=False, budget_seconds=2.0))
        started = time.monotonic()
        assist(document, report, llm)
        took = time.monotonic() - started
    assert took < 3.5, took
    assert "2 秒" in report.llm.note and "未读" in report.llm.note
    assert len(report.unplaced) >= 2  # the rows the budget left unread


@pytest.mark.parametrize("variable,value,field", [("NIANBAO_LLM_BUDGET_SECONDS", "7.5", "budget_seconds"),
                                                  ("NIANBAO_LLM_BUDGET_CALLS", "3", "budget_calls")])
def test_the_budget_of_a_configured_endpoint_is_its_own_setting(monkeypatch, tmp_path, variable, value, field) -> None:
    from service.settings import Settings

    monkeypatch.setenv("NIANBAO_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("NIANBAO_LLM_MODEL", "m")
    monkeypatch.setenv(variable, value)
    config = Settings(data_dir=tmp_path).llm_config()
    assert getattr(config, field) == type(getattr(config, field))(value) and config.capable


def test_the_bundled_model_s_budget_fits_a_waiting_user(tmp_path) -> None:
    from service.llm import local

    config = local.config("http://127.0.0.1:1/v1", tmp_path)
    assert config.budget_seconds <= 60 and config.budget_calls <= 8 and not config.capable


def test_progress_is_told_per_question() -> None:
    document, report = _drifted()
    told: list[str] = []
    with scripted(right) as endpoint:
        llm = LLM(endpoint.config(capable=False))
        llm.listener = told.append
        assist(document, report, llm)
    assert told == [f"大模型补读 {i}/3 …（行名对应 第 {i} 问）" for i in (1, 2, 3)]


# ---------------------------------------------------------------------------------------------- the command line
def _cli(path, endpoint, tmp_path, **environment):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")},
           "NIANBAO_DATA_DIR": str(tmp_path / "data"), "NIANBAO_LLM_BASE_URL": endpoint.base_url,
           "NIANBAO_LLM_MODEL": "scripted", **environment}
    return subprocess.run([str(Path(sys.executable).parent / "nianbao"), "extract", str(path), "--llm", "auto"],
                          capture_output=True, text=True, timeout=120, env=env)


def test_the_cli_shows_the_model_s_progress_and_what_it_read(tmp_path) -> None:
    rendering = drift.make(GOLD, "drift", "html")
    path = tmp_path / rendering.filename
    path.write_bytes(rendering.data)
    with scripted(right) as endpoint:
        done = _cli(path, endpoint, tmp_path)
    assert done.returncode in (0, 3), done.stderr
    assert "大模型补读 1/3 …（行名对应 第 1 问）" in done.stderr and "大模型补读 3/3" in done.stderr
    assert "3 次调用，补读 " in done.stderr
    assert json.loads(done.stdout)["llm"]["calls"] == 3


def test_a_small_endpoint_is_not_even_asked_when_only_prose_is_left(tmp_path) -> None:
    rendering = drift.make(GOLD, "prose_only", "html")
    path = tmp_path / rendering.filename
    path.write_bytes(rendering.data)
    with scripted(right) as endpoint:
        done = _cli(path, endpoint, tmp_path, NIANBAO_LLM_CAPABLE="false")
    assert endpoint.requests == [] and done.returncode == 3
    assert "请配置大模型端点 NIANBAO_LLM_*" in done.stderr and "表二" in done.stderr


@pytest.mark.parametrize("budget,timeout,retries", [(300, 120, 1), (1000, 120, 2), (50, 50, 0)])
def test_a_request_and_its_retries_fit_in_what_is_left_of_the_budget(budget, timeout, retries) -> None:
    from service.llm.chain import MetaAnswer

    with scripted(right) as endpoint:
        llm = LLM(endpoint.config(timeout=120, max_retries=2, budget_seconds=budget))
        llm.ask(llm.prompt("read_meta"), {"text": "示例"}, MetaAnswer)
    assert [key[1:] for key in llm._chats] == [(timeout, retries)]


def test_the_one_call_baseline_is_not_cut_by_the_budget(tmp_path) -> None:
    from service.pipeline import read_llm_only

    rendering = drift.make(GOLD, "drift", "html")
    with scripted(lambda messages: json.dumps({}), delay=1.2) as endpoint:
        config = endpoint.config(budget_seconds=1.0, budget_calls=0)
        _, report = read_llm_only(rendering.data, rendering.filename, lambda: LLM(config))
    assert report.llm and report.llm.calls >= 1 and report.llm.note is None


def test_a_prose_table_in_several_pieces_is_asked_piece_by_piece(monkeypatch) -> None:
    """Table 3's sentences cut into three questions: an answer to the first does not end the table."""
    from service.llm import chain

    monkeypatch.setattr(chain, "_CHUNK", 60)
    t3 = [("t3.new_received.total", "74", "本年新收政府信息公开申请数量为74"), ("t3.granted.total", "21", "予以公开21"),
          ("t3.total.total", "75", "办理结果总计为75")]

    def table3(messages: list[dict]) -> str:
        text = user(messages).split("候选（key：字段含义）", 1)[0]
        figures = [{"key": k, "number": n, "quote": q} for k, n, q in t3 if q in text]
        return json.dumps({"figures": figures}, ensure_ascii=False)

    def only_table3():
        document, report = _table4_in_prose()
        for key in [k for k in report.fields if k.startswith("t3.")]:
            del report.fields[key]
            report.missing.append(key)
        return document, report

    report, endpoint = _run(table3, only_table3)
    asked = [r for r in report.llm.rounds if r.task == "read_prose"]
    assert len(asked) >= 3
    assert {k: v for k, v in _by_llm(report).items() if k.startswith("t3.")} == {k: int(n) for k, n, _ in t3}
