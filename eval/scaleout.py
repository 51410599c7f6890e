"""Scale-out runs on 127.0.0.1: `nianbao batch` through a real redis-server and two Celery workers,
one of them killed whole (SIGKILL) mid-run, and the same reports through local processes.

Used by tests/test_cluster.py (a few hundred reports) and `make bench` (1 000, with throughput).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eval.load import (
    CLI,
    distinct_reports,
    free_port,
    kill_group,
    start_redis,
    start_worker,
    stop_group,
    write_reports,
)
from service.batch import RESULTS, read_results

# Short limits so that a dead worker's report is handed on after 25 s rather than the default 15 min;
# a report takes well under a second here.
WORKER_ENV = {"NIANBAO_TASK_TIME_LIMIT": "5", "NIANBAO_VISIBILITY_TIMEOUT": "25"}
WORKERS = 2


class LineCounter:
    """Lines appended to a growing file, read incrementally (results.jsonl reaches tens of MB)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.lines = path, 0, 0

    def count(self) -> int:
        if self.path.exists():
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
            self.offset += len(chunk)
            self.lines += chunk.count(b"\n")
        return self.lines


def prepare(directory: Path, count: int) -> set[str]:
    """`count` distinct generated reports under directory/reports; their content hashes."""
    reports = distinct_reports(count)
    write_reports(directory / "reports", reports)
    return {hashlib.sha256(data).hexdigest() for _, data in reports}


def local_batch(directory: Path, expected: set[str], workers: int = WORKERS, timeout: float = 900) -> dict:
    """`nianbao batch --workers N` without a broker: local processes."""
    out = directory / "out-local"
    started = time.monotonic()
    batch = _batch(directory, out, {"NIANBAO_BROKER_URL": ""}, ["--workers", str(workers)])
    batch.wait(timeout=timeout)
    return _summary(out, expected, time.monotonic() - started, batch.returncode)


@contextmanager
def cluster(directory: Path) -> Iterator[tuple[dict[str, str], list[subprocess.Popen]]]:
    """A fresh redis-server (so nothing is already done) and two workers, ready: (their env, the workers)."""
    port = free_port()
    redis_server = start_redis(directory, port)
    env = {"NIANBAO_BROKER_URL": f"redis://127.0.0.1:{port}/0", **WORKER_ENV}
    workers = [start_worker(f"w{n}@%h", env, directory / f"worker-{n}.log") for n in range(1, WORKERS + 1)]
    try:
        _wait_for_workers(env, len(workers))
        yield env, workers
    finally:
        for process in workers:
            stop_group(process)
        redis_server.terminate()
        redis_server.wait(timeout=30)


def cluster_batch(directory: Path, expected: set[str], kill_after: float | None = None, timeout: float = 900,
                  out_name: str = "out-cluster") -> dict:
    """`nianbao batch` through redis-server and two workers; with `kill_after` (a share of the reports
    written), the first worker and its pool process are SIGKILLed once that share is done."""
    out = directory / out_name
    with cluster(directory) as (env, workers):
        started = time.monotonic()
        batch = _batch(directory, out, env, [])
        try:
            written, killed_after = LineCounter(out / RESULTS), None
            while batch.poll() is None and time.monotonic() - started < timeout:
                if kill_after is not None and killed_after is None and written.count() >= kill_after * len(expected):
                    kill_group(workers[0])
                    killed_after = written.count()
                time.sleep(0.05)
            elapsed = time.monotonic() - started
        finally:
            if batch.poll() is None:
                batch.kill()
                batch.wait()
    return {**_summary(out, expected, elapsed, batch.returncode), "killed_after": killed_after}


def _batch(directory: Path, out: Path, env: dict[str, str], options: list[str]) -> subprocess.Popen:
    with (directory / f"{out.name}.log").open("ab") as log:
        return subprocess.Popen([str(CLI), "batch", str(directory / "reports"), "--out", str(out), *options],
                                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env})


def _wait_for_workers(env: dict[str, str], count: int, timeout: float = 120) -> None:
    """Until every worker answers a ping, so that start-up is not counted as throughput."""
    from celery import Celery

    app = Celery(broker=env["NIANBAO_BROKER_URL"])  # a ping needs the broker only
    deadline = time.monotonic() + timeout
    while len(app.control.ping(timeout=0.5)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the Celery workers did not start")


def _summary(out: Path, expected: set[str], seconds: float, exit_code: int | None) -> dict:
    """What a run left in results.jsonl: every report once, done, and how often each was started."""
    records = list(read_results(out / RESULTS))
    hashes = [r["sha256"] for r in records]
    return {"reports": len(expected), "records": len(records), "distinct": len(set(hashes)),
            "lost": len(expected - set(hashes)), "done": sum(r["status"] == "done" for r in records),
            "attempts": dict(sorted(Counter(r["attempts"] for r in records).items())),
            "exit_code": exit_code, "seconds": round(seconds, 1),
            "reports_per_minute": round(len(records) / seconds * 60, 1)}
