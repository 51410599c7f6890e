"""A scripted OpenAI-compatible endpoint on 127.0.0.1 for the chain's tests: each request's messages
go to a Python function, whose string is the model's answer (None: an empty answer). Fast and
deterministic, so tests can tell what the model's answers changed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from service.llm.config import LLMConfig

Script = Callable[[list[dict]], "str | None"]


class Endpoint:
    def __init__(self, script: Script, delay: float = 0.0) -> None:
        self.script, self.delay = script, delay
        self.requests: list[list[dict]] = []
        self.down = False  # answer 503, as a provider in an outage does
        self.failures = 0  # answer 503 to this many requests first
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def config(self, **changes) -> LLMConfig:
        return LLMConfig(**{"base_url": self.base_url, "model": "scripted", "max_retries": 0, "timeout": 10, **changes})

    def _handler(self):
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._send({"object": "list", "data": [{"id": "scripted", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if endpoint.down or endpoint.failures > 0:
                    endpoint.failures -= 1
                    self._send({"error": {"message": "service unavailable", "type": "server_error"}}, 503)
                    return
                endpoint.requests.append(body["messages"])
                if endpoint.delay:
                    time.sleep(endpoint.delay)
                content = endpoint.script(body["messages"]) or ""
                self._send({"id": "x", "object": "chat.completion", "created": 0, "model": "scripted",
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": content}}],
                            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})

            def _send(self, payload: dict, status: int = 200) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                    pass

        return Handler


@contextmanager
def scripted(script: Script, delay: float = 0.0) -> Iterator[Endpoint]:
    endpoint = Endpoint(script, delay)
    endpoint.thread.start()
    try:
        yield endpoint
    finally:
        endpoint.server.shutdown()
        endpoint.server.server_close()


def task(messages: list[dict]) -> str:
    """Which prompt a request comes from, by its system message."""
    system = messages[0]["content"]
    for name, mark in (("map_rows", "表格解析助手"), ("read_prose", "说的是候选字段的数字"),
                       ("read_meta", "机关全称和报告所属年度"), ("reask", "数据核对助手")):
        if mark in system:
            return name
    return "other"


def user(messages: list[dict]) -> str:
    return next(m["content"] for m in messages if m["role"] == "user")
