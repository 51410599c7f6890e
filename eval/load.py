"""Load and crash runs against a real `nianbao serve`, `redis-server` and Celery workers on 127.0.0.1
(used by tests and `make bench`).

Reports are the gold reports with their numbers multiplied (1× to 9×, so every identity, being a
sum, still holds) and re-rendered with a numbered comment, so every upload is distinct content and
becomes its own job.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import redis

from eval import render

ROOT = Path(__file__).resolve().parents[1]
GOLD_DIRS = [ROOT.parent / "shared" / "gold", ROOT / "eval" / "gold"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


CLI = Path(sys.executable).parent / "nianbao"


def start_server(data_dir: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    process = subprocess.Popen([str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--data-dir", str(data_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "NIANBAO_API_TOKEN": "", **(env or {})})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def kill_hard(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def distinct_reports(count: int) -> list[tuple[str, bytes]]:
    golds = [json.loads(p.read_text("utf-8")) for d in GOLD_DIRS for p in sorted(d.glob("*/gold.json"))]
    out = []
    for n in range(count):
        page, _ = render.render(scaled(golds[n % len(golds)], 1 + n // len(golds) % 9), "html")
        out.append((f"report-{n:04d}.html", page + f"<!-- upload {n} -->".encode()))
    return out


def scaled(gold: dict, factor: int) -> dict:
    """The gold report with every number multiplied by `factor`: tables' sums still add up."""
    out = copy.deepcopy(gold)
    out["fields"] = {key: value if value is None else round(value * factor, 2) if isinstance(value, float)
                     else value * factor for key, value in gold["fields"].items()}
    return out


def write_reports(directory: Path, reports: list[tuple[str, bytes]]) -> None:
    """Reports spread over subdirectories of ten, as an office's tree of downloads would be."""
    for n, (name, data) in enumerate(reports):
        (directory / f"batch-{n // 10:03d}").mkdir(parents=True, exist_ok=True)
        (directory / f"batch-{n // 10:03d}" / name).write_bytes(data)


def start_redis(directory: Path, port: int) -> subprocess.Popen:
    """Debian's redis-server on 127.0.0.1, in memory only: a test's queue starts empty."""
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not installed (make redis installs it)")
    process = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                "--appendonly", "no", "--dir", str(directory)], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("redis-server did not start")


def start_worker(name: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`nianbao worker` with one pool process, in a session of its own so that it can be killed whole."""
    with log.open("ab") as sink:
        return subprocess.Popen([str(CLI), "worker", "--concurrency", "1", "--name", name], stdout=sink,
                                stderr=subprocess.STDOUT, env={**os.environ, **env}, start_new_session=True)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL to the worker and its pool processes at once, as when its machine dies."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def stop_group(process: subprocess.Popen) -> None:
    """A warm shutdown: SIGTERM to the worker alone, which lets its pool process finish its report."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            kill_group(process)


def submit_all(base: str, reports: list[tuple[str, bytes]], concurrency: int = 16) -> list[tuple[str, float]]:
    """Upload every report at once from `concurrency` clients: (job id, seconds the upload took)."""
    def one(report):
        started = time.monotonic()
        response = httpx.post(f"{base}/api/reports", files=[("files", report)], timeout=120)
        response.raise_for_status()
        (job_id,) = response.json()["ids"]
        return job_id, time.monotonic() - started

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, reports))


def statuses(base: str) -> dict[str, dict]:
    return {r["id"]: r for r in httpx.get(f"{base}/api/reports", timeout=60).json()["reports"]}


def wait_all(base: str, ids: list[str], timeout: float) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while True:
        seen = statuses(base)
        if all(seen.get(i, {}).get("status") in ("done", "failed") for i in ids) or time.monotonic() > deadline:
            return seen
        time.sleep(0.25)
