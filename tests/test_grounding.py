"""Grounding: a number from the model is kept only where the source prints it."""

from __future__ import annotations

from service.llm.config import Prompt
from service.llm.grounding import Source, ground
from tests.conftest import ROOT

TEXT = "2023 年全区受理政府信息公开申请 21 件，\n均在法定期限答复；收取费用１，２００元。"


def test_a_quoted_number_is_aligned_to_its_span() -> None:
    source = Source(TEXT)
    span, why = ground(source, 21, "全区受理政府信息公开申请 21 件")
    assert why == "" and span and TEXT[span[0]:span[1]] == "21"


def test_quotes_match_across_line_breaks_and_full_width_digits() -> None:
    source = Source(TEXT)
    span, _ = ground(source, 21, "申请21件，均在法定期限答复")
    assert span and TEXT[span[0]:span[1]] == "21"
    span, _ = ground(source, 1200, "收取费用１，２００元")
    assert span and TEXT[span[0]:span[1]] == "１，２００"


def test_an_invented_number_or_quote_is_rejected() -> None:
    source = Source(TEXT)
    assert ground(source, 22, "全区受理政府信息公开申请 21 件") == (None, "数值 22 不在引文中")
    assert ground(source, 21, "全年共收到申请 21 件") == (None, "引文在原文中找不到")


def test_every_prompt_file_has_a_version_and_both_parts() -> None:
    for path in sorted((ROOT / "prompts").glob("*.md")):
        if path.name == "README.md":
            continue
        prompt = Prompt.load(path.parent, path.stem)
        assert prompt.version.startswith(f"{path.stem}/") and prompt.system and prompt.user, path.name


HEAD = "二〇二三年政府信息公开工作年度报告\n本报告由淮安市洪泽区人民政府办公室根据《中华人民共和国政府信息公开条例》编制。"


def _meta_round(answer):
    from service.llm.chain import MetaAnswer, accept_meta
    from service.report import LLMRound, Meta, Report

    report, round_ = Report(meta=Meta()), LLMRound(task="read_meta", prompt_version="test")
    accept_meta(HEAD, MetaAnswer(**answer), report, round_)
    return report.meta, round_


def test_a_printed_agency_and_year_are_kept() -> None:
    meta, round_ = _meta_round({"agency": "淮安市洪泽区人民政府办公室", "year": 2023})
    assert (meta.agency, meta.year) == ("淮安市洪泽区人民政府办公室", 2023)
    assert round_.accepted == {"meta.agency": "淮安市洪泽区人民政府办公室", "meta.year": 2023}


def test_an_unprinted_agency_a_sentence_or_an_unprinted_year_is_rejected() -> None:
    for answer in ({"agency": "淮安市人民政府", "year": 2022}, {"agency": "本报告由淮安市洪泽区人民政府办公室根据", "year": None}):
        meta, round_ = _meta_round(answer)
        assert (meta.agency, meta.year) == (None, None) and round_.accepted == {}
        assert len(round_.rejected) == len([v for v in answer.values() if v])
