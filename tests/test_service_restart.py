"""A real server on 127.0.0.1: concurrent uploads, kill -9 mid-batch, restart, nothing lost or doubled."""

from __future__ import annotations

import sqlite3
import time

from eval.load import (
    distinct_reports,
    free_port,
    kill_hard,
    start_server,
    statuses,
    submit_all,
    wait_all,
)

UPLOADS = 60


def test_kill_9_mid_batch_then_restart_finishes_every_job_once(tmp_path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(tmp_path, port)
    try:
        ids = [job_id for job_id, _ in submit_all(base, distinct_reports(UPLOADS))]
        assert len(set(ids)) == UPLOADS
        while sum(s["status"] == "done" for s in statuses(base).values()) < 5:
            time.sleep(0.05)
    finally:
        kill_hard(server)
    database = sqlite3.connect(tmp_path / "nianbao.sqlite3")
    done_before = {row[0] for row in database.execute("select id from reports where status = 'done'")}
    assert 0 < len(done_before) < UPLOADS, "the kill should land mid-batch"
    server = start_server(tmp_path, port)
    try:
        final = wait_all(base, ids, timeout=240)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert sorted(final) == sorted(ids)
    assert all(final[i]["status"] == "done" for i in ids)
    attempts = dict(database.execute("select id, attempts from reports"))
    assert all(attempts[i] == 1 for i in done_before), "a finished job must never run again"
    assert max(attempts.values()) <= 2
