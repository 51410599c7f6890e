"""The provider boundary: the only code in Nianbao that talks to a model (langchain + OpenAI API).

Structured output works in the modes providers differ in: `json_schema` (the server enforces the
schema), `tools` (function calling) and `json_object` (JSON mode; the schema goes in the prompt and,
where the server takes it, in the request), always followed by pydantic validation and a re-ask
with the validation error. Answers are cached on disk by model, prompt version and input.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import re
import time
from string import Template
from typing import Any, Callable, Literal, TypeVar

import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, ValidationError

from service.llm.config import LLMConfig, Prompt
from service.report import LLMTrace

log = logging.getLogger(__name__)
S = TypeVar("S", bound=BaseModel)
_VALIDATION_RETRIES = 2
_TASKS = {"map_rows": "行名对应", "read_prose": "正文数字", "read_meta": "机关与年度", "reask": "勾稽复核",
          "whole_report": "整份报告", "draft_section5": "起草第五部分"}


class LLMUnavailable(RuntimeError):
    """The endpoint cannot be reached or keeps failing; the rules' result stands."""


class BudgetSpent(LLMUnavailable):
    """The report's budget of seconds or calls is spent; `str(exc)` says which, in Chinese. Not an
    outage: callers that retry outages (jobs) keep the result."""


class Budget:
    """What one report may still spend on the model: wall seconds from the moment it was made, calls."""

    def __init__(self, seconds: float, calls: int) -> None:
        self.seconds, self.calls = seconds, calls
        self.started = time.monotonic()

    def left_seconds(self) -> float:
        return self.seconds - (time.monotonic() - self.started)

    def spent(self, calls: int) -> str | None:
        """Why no further call may be made, or None."""
        if calls >= self.calls:
            return f"已用完 {self.calls} 次调用"
        if self.left_seconds() <= 0:
            return f"已用完 {self.seconds:g} 秒"
        return None


class AnswerCutOff(ValueError):
    """The answer reached max_tokens before its JSON closed: asking again would cut it again."""


class LLM:
    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self.trace = LLMTrace(model=config.model)
        self.budget = Budget(config.budget_seconds, config.budget_calls)
        self.listener: Callable[[str], None] | None = None  # told, in Chinese, what the model is doing
        self.planned = 0  # questions the chain means to ask this report, for the progress text
        self._chats: dict[tuple[int, int, int], ChatOpenAI] = {}

    def _chat(self, max_tokens: int, timeout: int, retries: int) -> ChatOpenAI:
        """A client whose requests carry the answer's bound under the field the provider reads
        (langchain itself always renames max_tokens to max_completion_tokens), and that waits no
        longer than `timeout` seconds, with `retries` of its own (none when the budget's rest bounds it)."""
        if (max_tokens, timeout, retries) not in self._chats:
            bound = ({"max_tokens": max_tokens} if self.config.max_tokens_field == "max_completion_tokens"
                     else {"extra_body": {"max_tokens": max_tokens}})
            self._chats[max_tokens, timeout, retries] = ChatOpenAI(
                base_url=self.config.base_url, api_key=self.config.api_key, model=self.config.model,
                timeout=timeout, max_retries=retries, temperature=0, **bound)
        return self._chats[max_tokens, timeout, retries]

    def for_report(self, budgeted: bool = True) -> "LLM":
        """The same clients with a trace and a budget of their own: one model serves many reports,
        and each report's calls, tokens and seconds are counted apart. Unbudgeted: the eval's
        one-call baseline, which is timed, not cut."""
        other = copy.copy(self)
        other.trace = LLMTrace(model=self.config.model)
        other.budget = (Budget(self.config.budget_seconds, self.config.budget_calls) if budgeted
                        else Budget(math.inf, 2 ** 31))
        other.planned = 0
        return other

    def tell(self, what: str) -> None:
        if self.listener is not None:
            self.listener(what)

    def prompt(self, name: str) -> Prompt:
        return Prompt.load(self.config.prompts_dir, name)

    def ask(self, prompt: Prompt, variables: dict[str, str], schema: type[S],
            schema_in_request: bool | None = None, max_tokens: int | None = None,
            schema_in_prompt: bool = True) -> S | None:
        """The model's answer as `schema`, or None when it never produced a valid one.
        `max_tokens` raises the configured bound for a task whose answer is long; a prompt that
        lists the expected keys itself can leave the JSON schema out of the system message."""
        system = self._system(prompt, schema) if schema_in_prompt else prompt.system
        messages: list[BaseMessage] = [SystemMessage(system),
                                       HumanMessage(Template(prompt.user).safe_substitute(variables))]
        key = self._cache_key(prompt, messages, schema)
        cached = self._cached(key, schema)
        if cached is not None:
            return cached
        in_request = self.config.schema_in_request if schema_in_request is None else schema_in_request
        asked = sum(1 for r in self.trace.rounds if r.task == prompt.name) + 1
        total = max(min(self.planned, self.config.budget_calls), self.trace.calls + 1)
        self.tell(f"大模型补读 {self.trace.calls + 1}/{total} …（{_TASKS.get(prompt.name, prompt.name)} 第 {asked} 问）")
        answer = self._until_valid(prompt.name, messages, schema, in_request,
                                   max(max_tokens or 0, self.config.max_tokens))
        if answer is not None:
            self._store(key, answer)
        return answer

    def _until_valid(self, name: str, messages: list[BaseMessage], schema: type[S], in_request: bool,
                     max_tokens: int) -> S | None:
        """Ask, and ask again with the validation error while the answer does not fit `schema`."""
        for _ in range(_VALIDATION_RETRIES + 1):
            try:
                raw = self._call(messages, schema, in_request, max_tokens)
            except AnswerCutOff as exc:
                log.info("%s: %s", name, exc)
                return None
            try:
                return schema.model_validate(_json(raw))
            except (ValidationError, ValueError) as exc:
                log.info("invalid %s answer, asking again: %s", name, exc)
                messages = [*messages, AIMessage(raw),
                            HumanMessage(f"上次输出不符合要求：{str(exc)[:500]}。请只输出符合要求的 JSON。")]
        return None

    def _system(self, prompt: Prompt, schema: type[BaseModel]) -> str:
        if self.config.mode != "json_object":
            return prompt.system
        return f"{prompt.system}\n\n输出必须符合这个 JSON Schema：\n{json.dumps(schema.model_json_schema(), ensure_ascii=False)}"

    def _call(self, messages: list[BaseMessage], schema: type[BaseModel], schema_in_request: bool,
              max_tokens: int) -> str:
        why = self.budget.spent(self.trace.calls)
        if why:
            raise BudgetSpent(why)
        left = self.budget.left_seconds()
        # a request waits no longer than the budget's rest, and its retries fit in that rest too
        bounded = left < self.config.timeout
        timeout = max(1, math.ceil(min(left, self.config.timeout)))
        fits = left >= self.config.timeout * (self.config.max_retries + 1)
        retries = self.config.max_retries if fits else max(0, int(left // timeout) - 1)
        chat = self._chat(max_tokens, timeout, retries)
        try:
            if self.config.mode == "json_object":
                response_format: dict[str, Any] = {"type": "json_object"}
                if schema_in_request:
                    response_format["schema"] = schema.model_json_schema()
                message = chat.bind(response_format=response_format).invoke(messages)
            else:
                method: Literal["json_schema", "function_calling"] = (
                    "json_schema" if self.config.mode == "json_schema" else "function_calling")
                result = chat.with_structured_output(schema, method=method, include_raw=True).invoke(messages)
                message = result["raw"]
        except openai.LengthFinishReasonError as exc:
            self._count_usage(exc.completion.usage)
            raise AnswerCutOff(f"answer cut off at {max_tokens} tokens") from exc
        except openai.APITimeoutError as exc:
            if bounded:  # the wait was cut to what the budget had left
                self.trace.calls += 1
                raise BudgetSpent(f"已用完 {self.budget.seconds:g} 秒") from exc
            raise LLMUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except openai.OpenAIError as exc:
            raise LLMUnavailable(f"{type(exc).__name__}: {exc}") from exc
        self._count(message)
        if self.config.mode != "json_object" and message.tool_calls:
            return json.dumps(message.tool_calls[0]["args"], ensure_ascii=False)
        return message.content if isinstance(message.content, str) else json.dumps(message.content)

    def _count(self, message: AIMessage) -> None:
        self.trace.calls += 1
        usage = message.usage_metadata
        if usage:
            self.trace.input_tokens += usage.get("input_tokens", 0)
            self.trace.output_tokens += usage.get("output_tokens", 0)

    def _count_usage(self, usage) -> None:
        self.trace.calls += 1
        self.trace.input_tokens += usage.prompt_tokens if usage else 0
        self.trace.output_tokens += usage.completion_tokens if usage else 0

    def _cache_key(self, prompt: Prompt, messages: list[BaseMessage], schema: type[BaseModel]) -> str:
        material = [self.config.model, self.config.mode, prompt.version, schema.__name__,
                    [m.content for m in messages]]
        return hashlib.sha256(json.dumps(material, ensure_ascii=False).encode()).hexdigest()

    def _cached(self, key: str, schema: type[S]) -> S | None:
        path = self.config.cache_dir / f"{key}.json" if self.config.cache_dir else None
        if path is None or not path.exists():
            return None
        self.trace.cached += 1
        return schema.model_validate_json(path.read_text("utf-8"))

    def _store(self, key: str, answer: BaseModel) -> None:
        if self.config.cache_dir:
            self.config.cache_dir.mkdir(parents=True, exist_ok=True)
            (self.config.cache_dir / f"{key}.json").write_text(answer.model_dump_json(), "utf-8")


def _json(raw: str):
    """The JSON object in a reply, also when a model wraps it in a code fence or words."""
    text = raw.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fenced:
        text = fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError("回答中没有 JSON 对象")
    return json.loads(text[start:end + 1])
