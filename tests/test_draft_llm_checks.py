"""Issue 19: when the model's draft fails a check, or the model gives nothing, the output says which check
failed. The endpoint is a small OpenAI-compatible server on 127.0.0.1 started here that answers every chat
completion with a fixed reply (the bundled model's answers vary; these do not)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service.draft import draft
from service.llm import LLM, LLMConfig
from service.report import report_from_flat
from tests.conftest import gold_report_dirs, load_gold

PINGTAN_2022 = next(d for d in gold_report_dirs() if d.name == "pingtan-experimental-zone-2022")


ASKED: list[dict] = []  # every request the servers were sent


def _server(reply: str):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            ASKED.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
            body = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "canned",
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": reply}}],
                               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def canned():
    servers = []

    def start(reply: str) -> LLM:
        server = _server(reply)
        servers.append(server)
        return LLM(LLMConfig(base_url=f"http://127.0.0.1:{server.server_port}/v1", model="canned", max_retries=0,
                             timeout=10, cache_dir=None))
    yield start
    for server in servers:
        server.shutdown()


def test_a_model_draft_that_is_too_short_names_the_length_check(canned) -> None:
    short = json.dumps({"problems": [{"text": "政策解读不足", "cites": ["F1"]}],
                        "improvements": [{"text": "加强解读", "cites": []}]}, ensure_ascii=False)
    result = draft(report_from_flat(load_gold(PINGTAN_2022)), llm=canned(short))
    assert result.method == "fallback" and "大模型草稿未通过检查" in result.label and "长度" in result.label
    failed = [c for c in result.llm_checks if not c.passed]
    assert [c.name for c in failed] == ["length"] and "应在" in failed[0].message
    assert all(c.passed for c in result.checks)  # the offline draft that replaced it passes its own


def test_a_model_sentence_with_an_invented_number_is_dropped_and_counted(canned) -> None:
    answer = {"problems": [{"text": "依申请公开答复质量有待提高，复议纠错 1 件", "cites": ["F5"]},
                           {"text": "办结率仅 61.5%，明显偏低", "cites": []}],
              "improvements": [{"text": "规范答复文书，健全法律审核机制，对复杂申请组织会商研判，确保答复依据充分、说理清楚、程序合法",
                                "cites": []},
                               {"text": "加强政策解读，运用图解、问答等形式，围绕群众关心的条款讲清讲透，提升解读的针对性和可读性",
                                "cites": []}]}
    result = draft(report_from_flat(load_gold(PINGTAN_2022)), llm=canned(json.dumps(answer, ensure_ascii=False)))
    assert "61.5" not in result.draft
    checks = result.checks if result.method == "llm" else result.llm_checks
    numbers = next(c for c in checks if c.name == "numbers_grounded")
    assert "已删去 1 句" in numbers.message


def test_a_model_that_gives_nothing_is_said(canned) -> None:
    result = draft(report_from_flat(load_gold(PINGTAN_2022)), llm=canned("我无法回答"))
    assert result.method == "fallback" and "大模型未给出有效草稿" in result.label


def test_the_model_is_told_the_work_problem_each_fact_evidences(canned) -> None:
    ASKED.clear()
    draft(report_from_flat(load_gold(PINGTAN_2022)), llm=canned("{}"))
    prompt = "\n".join(m["content"] for m in ASKED[0]["messages"])
    assert "（问题：依申请公开答复质量）" in prompt and "（问题：政策解读）" in prompt
    assert "不写年报表格本身的填报" in prompt
