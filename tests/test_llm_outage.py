"""An unreachable model endpoint is an outage to retry, never a finished result: the job step raises
LLMOutage (Celery retries it), and the embedded worker queues the report again until the endpoint is
back, while reports that need no model finish meanwhile."""

from __future__ import annotations

import time

import pytest

from eval import drift
from service.jobs import Jobs, ReportJob
from service.jobs.task import LLMOutage, process
from service.jobs.uploads import Upload
from service.llm.provider import factory
from tests.conftest import gold_report_dirs, load_gold, source_path
from tests.scripted_llm import scripted
from tests.test_llm_chain import GOLD, right

DRIFTED = drift.make(GOLD, "drift", "html")


def test_the_job_step_raises_an_outage_instead_of_returning_a_done_result(tmp_path) -> None:
    with scripted(right) as endpoint:
        endpoint.down = True
        with pytest.raises(LLMOutage) as raised:
            process(DRIFTED.data, DRIFTED.filename, factory(endpoint.config(capable=False), tmp_path, bundled=False))
        assert "不可用" in raised.value.message
        endpoint.down = False
        outcome = process(DRIFTED.data, DRIFTED.filename, factory(endpoint.config(capable=False), tmp_path, bundled=False))
    assert outcome["status"] == "done" and outcome["report"]["llm"]["calls"] == 3


def _job(jobs: Jobs, job_id: str) -> ReportJob:
    job = jobs.get(job_id)
    assert job is not None, job_id
    return job


def _until(condition, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_reports_met_by_an_outage_are_redone_once_the_endpoint_is_back(tmp_path) -> None:
    clean_dir = next(d for d in gold_report_dirs() if d.name == "huaian-city-2024")
    clean = Upload(load_gold(clean_dir)["source"], source_path(clean_dir).read_bytes())
    with scripted(right) as endpoint:
        endpoint.down = True
        jobs = Jobs(tmp_path, f"sqlite:///{tmp_path / 'jobs.sqlite3'}", workers=1,
                    llm=factory(endpoint.config(capable=False), tmp_path, bundled=False))
        jobs.outage_pause = 0.1
        jobs.start()
        try:
            drifted_id, clean_id = jobs.submit([Upload(DRIFTED.filename, DRIFTED.data), clean])
            assert _until(lambda: _job(jobs, drifted_id).attempts >= 2, 30), "the report was not tried again"
            assert _until(lambda: _job(jobs, clean_id).status == "done", 30)  # no model needed: done meanwhile
            waiting = _job(jobs, drifted_id)
            assert waiting.status in ("queued", "running") and waiting.report is None
            endpoint.down = False
            assert _until(lambda: _job(jobs, drifted_id).status == "done", 30)
        finally:
            jobs.stop()
    report = _job(jobs, drifted_id).report
    assert report is not None
    assert report["llm"]["calls"] == 3 and not report["llm"]["unavailable"]
    assert sum(f["method"] == "llm" for f in report["fields"].values()) > 0


def test_a_job_s_progress_names_the_model_s_steps(tmp_path) -> None:
    stages = []
    with scripted(right) as endpoint:
        process(DRIFTED.data, DRIFTED.filename, factory(endpoint.config(capable=False), tmp_path, bundled=False),
                lambda stage, percent: stages.append(stage))
    assert [s for s in stages if s.startswith("大模型")] == [f"大模型补读 {i}/3 …（行名对应 第 {i} 问）" for i in (1, 2, 3)]


def test_a_batch_redoes_on_resume_the_files_an_outage_left(tmp_path, monkeypatch) -> None:
    import csv

    from service import batch

    clean_dir = next(d for d in gold_report_dirs() if d.name == "huaian-city-2024")
    tree = tmp_path / "in"
    tree.mkdir()
    (tree / DRIFTED.filename).write_bytes(DRIFTED.data)
    (tree / "clean.txt").write_bytes(source_path(clean_dir).read_bytes())
    out = tmp_path / "out"
    with scripted(right) as endpoint:
        for name, value in {"NIANBAO_LLM_BASE_URL": endpoint.base_url, "NIANBAO_LLM_MODEL": "scripted",
                            "NIANBAO_LLM_CAPABLE": "false", "NIANBAO_DATA_DIR": str(tmp_path / "data")}.items():
            monkeypatch.setenv(name, value)
        endpoint.down = True
        items, _ = batch.plan(sorted(tree.iterdir()), out, resume=False)
        batch.run(items, out, batch.LocalRunner(1), lambda record: None)
        first = {r["path"]: r for r in batch.read_results(out / batch.RESULTS)}
        assert first[str(tree / DRIFTED.filename)].get("redo") and first[str(tree / "clean.txt")]["status"] == "done"
        endpoint.down = False
        items, skipped = batch.plan(sorted(tree.iterdir()), out, resume=True)
        assert [i.path.name for i in items] == [DRIFTED.filename] and skipped == 1
        batch.run(items, out, batch.LocalRunner(1), lambda record: None)
    records = list(batch.read_results(out / batch.RESULTS))
    assert records[-1]["status"] == "done" and records[-1]["report"]["llm"]["calls"] == 3
    assert batch.finished_hashes(out / batch.RESULTS) == {r["sha256"] for r in records}
    with (out / batch.FIELDS_CSV).open(encoding="utf-8-sig") as table:
        rows = list(csv.DictReader(table))
    assert sorted(r["status"] for r in rows) == ["done", "done"]  # one row a file, the newest record


def test_a_celery_worker_retries_a_report_whose_endpoint_was_down(tmp_path) -> None:
    """The first attempt meets the endpoint down (503 to it and to the client's own retries): the task
    is retried, not stored as done, and the next attempt reads the report with the model."""
    from eval import scaleout
    from eval.load import free_port, start_redis, start_worker, stop_group
    from service.jobs.cluster import Cluster
    from service.settings import Settings

    port = free_port()
    redis_server = start_redis(tmp_path, port)
    with scripted(right) as endpoint:
        endpoint.failures = 3  # one request and the client's two retries
        env = {"NIANBAO_BROKER_URL": f"redis://127.0.0.1:{port}/0", **scaleout.WORKER_ENV,
               "NIANBAO_TASK_TIME_LIMIT": "30", "NIANBAO_VISIBILITY_TIMEOUT": "60",
               "NIANBAO_LLM_BASE_URL": endpoint.base_url, "NIANBAO_LLM_MODEL": "scripted",
               "NIANBAO_LLM_CAPABLE": "false", "NIANBAO_DATA_DIR": str(tmp_path / "worker")}
        worker = start_worker("outage@%h", env, tmp_path / "worker.log")
        try:
            cluster = Cluster(Settings(data_dir=tmp_path, broker_url=env["NIANBAO_BROKER_URL"],
                                       task_time_limit=30, visibility_timeout=60))
            digest = "outage-" + str(port)
            cluster.send(digest, DRIFTED.filename, DRIFTED.data)
            state = {}
            assert _until(lambda: (state.update(cluster.poll(digest)) or state["status"] in ("done", "failed")), 120), \
                (tmp_path / "worker.log").read_text("utf-8")[-2000:]
        finally:
            stop_group(worker)
            redis_server.terminate()
            redis_server.wait(timeout=30)
    assert state["status"] == "done", state
    assert state["attempts"] == 2 and state["report"]["llm"]["calls"] == 3 and not state["report"]["llm"]["unavailable"]
