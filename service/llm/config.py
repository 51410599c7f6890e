"""LLM settings and prompt files, importable without loading any model client."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, SecretStr

_FRONT = re.compile(r"^---\s*\nversion:\s*(\S+)\s*\n---\s*\n", re.S)


class LLMConfig(BaseModel):
    base_url: str
    model: str
    api_key: SecretStr = SecretStr("not-needed")
    mode: Literal["json_schema", "json_object", "tools"] = "json_object"
    schema_in_request: bool = False  # llama.cpp's server takes {"type": "json_object", "schema": …}
    timeout: float = 120.0
    max_retries: int = 2
    max_tokens: int = 1024
    # The request field that bounds the answer: OpenAI's newer API names it max_completion_tokens,
    # while llama.cpp's server, DeepSeek, DashScope and most compatible servers read max_tokens and
    # silently ignore the other name (an unbounded answer then runs to the context's end).
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    cache_dir: Path | None = None
    # What one report may spend on the model: wall seconds from its first question and requests
    # (validation re-asks included). When either is spent the rules' result stands, with a note.
    budget_seconds: float = 300.0
    budget_calls: int = 60
    # A capable model is asked for tables printed only as prose or that the rules could not rebuild,
    # and to mend broken identities; a small one (the bundled 270M) only for the report's issuing
    # body and year and for a few drifted row labels, which it measurably gets right.
    capable: bool = True
    prompts_dir: Path = Path(__file__).resolve().parents[2] / "prompts"


class Prompt(BaseModel):
    name: str
    version: str
    system: str
    user: str

    @classmethod
    def load(cls, directory: Path, name: str) -> "Prompt":
        text = (directory / f"{name}.md").read_text("utf-8")
        front = _FRONT.match(text)
        body = text[front.end():] if front else text
        system, _, user = body.partition("## user")
        return cls(name=name, version=front.group(1) if front else f"{name}/unversioned",
                   system=system.replace("## system", "", 1).strip(), user=user.strip())


