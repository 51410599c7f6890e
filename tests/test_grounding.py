"""Grounding: a number from the model is kept only where the source prints it."""

from __future__ import annotations

from service.llm.grounding import Source, ground
from service.llm.config import Prompt
from tests.conftest import ROOT

TEXT = "2023 年全区受理政府信息公开申请 21 件，\n均在法定期限答复；收取费用１，２００元。"


def test_a_quoted_number_is_aligned_to_its_span() -> None:
    source = Source(TEXT)
    span, why = ground(source, 21, "全区受理政府信息公开申请 21 件")
    assert why == "" and TEXT[span[0]:span[1]] == "21"


def test_quotes_match_across_line_breaks_and_full_width_digits() -> None:
    source = Source(TEXT)
    span, _ = ground(source, 21, "申请21件，均在法定期限答复")
    assert TEXT[span[0]:span[1]] == "21"
    span, _ = ground(source, 1200, "收取费用１，２００元")
    assert TEXT[span[0]:span[1]] == "１，２００"


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
