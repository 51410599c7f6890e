"""Load and crash runs against a real `nianbao serve` on 127.0.0.1 (used by tests and `make bench`).

Reports are the gold reports re-rendered with a numbered comment, so every upload is distinct
content and becomes its own job.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from eval import render

ROOT = Path(__file__).resolve().parents[1]
GOLD_DIRS = [ROOT.parent / "shared" / "gold", ROOT / "eval" / "gold"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(data_dir: Path, port: int) -> subprocess.Popen:
    cli = Path(sys.executable).parent / "nianbao"
    process = subprocess.Popen([str(cli), "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--data-dir", str(data_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "NIANBAO_API_TOKEN": ""})
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
        page, _ = render.render(golds[n % len(golds)], "html")
        out.append((f"report-{n:04d}.html", page + f"<!-- upload {n} -->".encode()))
    return out


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
