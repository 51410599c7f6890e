"""Persistent report jobs: a queue on the relational store that survives restarts.

Public entry point: `Jobs`. Two backends run the same step (`service.jobs.task.process`):
- embedded (the default): worker threads in this process; a job is claimed with one conditional
  UPDATE, so two workers never run the same job;
- Celery (`cluster` given): one dispatcher thread sends queued jobs to the workers through Redis,
  at most `cluster.inflight` at a time, and records their outcomes here.
Either way the table is the queue of record: on start every job left `running` by a crash is queued
again, so nothing is lost, and a job recorded `done` is never recorded again. A report whose model
endpoint could not be reached (`LLMOutage`) is not done: the embedded worker queues it again after
a pause that doubles each time (up to OUTAGE_ATTEMPTS attempts, then it fails and can be submitted
again); Celery retries it the same way (service/jobs/cluster.py).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, update

from service.check import check
from service.jobs.bodies import (
    Body,
    is_named,
    known,
    listing,
    previous_report,
    reports_sharing_stem,
)
from service.jobs.db import AgencyApart, ReportJob, connect
from service.jobs.task import LLMOutage, process
from service.jobs.uploads import Upload, store
from service.report import FieldValue, Report, report_from_flat

log = logging.getLogger(__name__)

__all__ = ["Jobs", "ReportJob", "effective_report"]

OUTAGE_ATTEMPTS = 6
OUTAGE_WAITING = "等待大模型服务恢复"


def effective_report(job: ReportJob) -> Report | None:
    """The extracted report with a person's corrections laid over it."""
    if job.report is None:
        return None
    report = Report.model_validate(job.report)
    for key, value in (job.corrections or {}).items():
        before = report.fields.get(key)
        report.fields[key] = FieldValue(value=value, method="manual", confidence=1.0,
                                        provenance=before.provenance if before else None)
        if key in report.missing:
            report.missing.remove(key)
    report.recount_tables()
    return report


class Jobs:
    def __init__(self, data_dir: Path, database_url: str, workers: int = 1, llm=None, cluster=None) -> None:
        """`llm` is the job step's model factory (None: rules only); `cluster` a `service.jobs.cluster.Cluster`."""
        self.root = data_dir
        self.sessions = connect(database_url)
        self.workers = workers
        self.llm = llm
        self.cluster = cluster
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.outage_pause = 15.0  # seconds before a report that met an unreachable model is tried again, doubled per attempt
        self._not_before: dict[str, float] = {}  # job id → when it may be tried again (monotonic)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        with self.sessions.begin() as session:
            resumed = session.execute(update(ReportJob).where(ReportJob.status == "running")
                                      .values(status="queued", stage="queued", percent=0)).rowcount
        if resumed:
            log.warning("requeued %d jobs interrupted by a stop", resumed)
        self._stop.clear()
        if self.cluster is not None:
            self._threads = [threading.Thread(target=self._dispatch, name="nianbao-dispatcher", daemon=True)]
        else:
            self._threads = [threading.Thread(target=self._work, name=f"nianbao-worker-{i}", daemon=True)
                             for i in range(self.workers)]
        for thread in self._threads:
            thread.start()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=30)

    # ------------------------------------------------------------------ submitting and reading
    def submit(self, uploads: list[Upload]) -> list[str]:
        """One job per distinct content; the same bytes again return the existing job."""
        ids = []
        with self.sessions.begin() as session:
            for upload in uploads:
                store(self.root, upload)
                job = session.scalar(select(ReportJob).where(ReportJob.sha256 == upload.sha256))
                if job is None:
                    job = ReportJob(id=uuid.uuid4().hex, sha256=upload.sha256, filename=upload.filename,
                                    size=len(upload.data), status="queued", stage="queued", percent=0,
                                    corrections={})
                    session.add(job)
                elif job.status == "failed":
                    job.status, job.stage, job.percent, job.error = "queued", "queued", 0, None
                ids.append(job.id)
        self._wake.set()
        return ids

    def by_content(self, digests: list[str]) -> dict[str, ReportJob]:
        """The jobs already holding these contents, by their hash."""
        with self.sessions() as session:
            return {job.sha256: job for job in session.scalars(select(ReportJob).where(ReportJob.sha256.in_(digests)))}

    def retry(self, job_id: str) -> ReportJob | None:
        """Queue a failed job again; None when it has not failed."""
        with self.sessions.begin() as session:
            retried = session.execute(update(ReportJob).where(ReportJob.id == job_id, ReportJob.status == "failed")
                                      .values(status="queued", stage="queued", percent=0, error=None,
                                              attempts=0)).rowcount
            job = session.get(ReportJob, job_id) if retried else None  # as queued, before a worker takes it
        self._wake.set()
        return job

    def delete(self, job_id: str) -> bool:
        """Forget a job that is not running, and its uploaded bytes; False when it is running."""
        with self.sessions.begin() as session:
            job = session.get(ReportJob, job_id)
            if job.status == "running":
                return False
            session.delete(job)
        (self.root / "uploads" / job.sha256[:2] / job.sha256).unlink(missing_ok=True)
        return True

    def ping(self) -> None:
        """One query on the jobs table; raises what the database raises when it cannot answer."""
        with self.sessions() as session:
            session.execute(select(ReportJob.id).limit(1)).all()

    def get(self, job_id: str) -> ReportJob | None:
        with self.sessions() as session:
            return session.get(ReportJob, job_id)

    def _known(self, job_id: str) -> ReportJob:
        """A job this instance holds the id of: one it claimed, or one a route found."""
        job = self.get(job_id)
        assert job is not None, job_id
        return job

    def versions(self, agency: str | None = None, year: int | None = None,
                 status: str | None = None) -> list[tuple[str, datetime]]:
        """(id, when last changed) of the jobs, oldest first: enough to tell whose summary changed,
        without reading any report."""
        query = select(ReportJob.id, ReportJob.updated).order_by(ReportJob.created)
        if agency:
            query = query.where(ReportJob.agency.contains(agency))
        if year:
            query = query.where(ReportJob.year == year)
        if status:
            query = query.where(ReportJob.status == status)
        with self.sessions() as session:
            return [(job_id, updated) for job_id, updated in session.execute(query)]

    def many(self, job_ids: list[str]) -> list[ReportJob]:
        with self.sessions() as session:
            return list(session.scalars(select(ReportJob).where(ReportJob.id.in_(job_ids))))

    def previous_year(self, job: ReportJob) -> ReportJob | None:
        """Last year's report of the same body, if it was uploaded too (service/jobs/bodies.py)."""
        with self.sessions() as session:
            return previous_report(session, job)

    def agencies(self) -> Sequence[Body]:  # not list[…]: `list` is a method of this class
        """Every body the read reports name, with the names joined under it."""
        with self.sessions() as session:
            return listing(session)

    def keep_apart(self, name: str, apart: bool = True) -> bool:
        """Keep an agency name apart from the names it would join (or no longer), and check again every
        report whose last year's report that may change. False, changing nothing, when no report read
        bears the name (apart) or it is not kept apart (joining again)."""
        with self.sessions.begin() as session:
            kept = session.get(AgencyApart, name)
            if not (is_named(session, name) if apart else kept):
                return False
            if apart:
                session.merge(AgencyApart(name=name))
            else:
                session.delete(kept)
            session.flush()
            for job in reports_sharing_stem(session, name):
                job.findings = self._findings(job, session)
        return True

    def correct(self, job_id: str, values: dict) -> ReportJob:
        """Store a person's corrections (validated against the template) and check again at once."""
        with self.sessions.begin() as session:
            job = session.get(ReportJob, job_id)
            assert job is not None  # the route answered 404 for an unknown id
            report = effective_report(job)
            assert report is not None  # and 409 for a report not read yet
            merged = {**report.values(), **values}
            report_from_flat({"meta": report.meta.model_dump(), "fields": merged})  # raises FlatInputError
            job.corrections = {**(job.corrections or {}), **values}
            job.findings = self._findings(job, session)
        return self._known(job_id)

    def undo(self, job_id: str, key: str) -> ReportJob:
        """Take back a person's correction of one cell: the extracted value stands again, checked again."""
        with self.sessions.begin() as session:
            job = session.get(ReportJob, job_id)
            job.corrections = {k: v for k, v in job.corrections.items() if k != key}
            job.findings = self._findings(job, session)
        return self._known(job_id)

    def save_draft(self, job_id: str, draft: dict) -> None:
        with self.sessions.begin() as session:
            session.get(ReportJob, job_id).draft = draft

    def _findings(self, job: ReportJob, session) -> list[dict]:
        previous = previous_report(session, job)
        before = effective_report(previous) if previous else None
        report = effective_report(job)
        assert report is not None  # findings are made for read reports only
        return [f.model_dump() for f in check(report, before)]

    # ------------------------------------------------------------------ the embedded worker
    def _work(self) -> None:
        while not self._stop.is_set():
            job_id = self._claim()
            if job_id is None:
                self._wake.wait(timeout=1.0)
                self._wake.clear()
                continue
            try:
                self._run(job_id)
            except LLMOutage as exc:
                self._later(job_id, exc)
            except Exception:  # a bug must fail its job, not kill the worker
                log.exception("job %s crashed", job_id)
                self._finish(job_id, status="failed", error="处理时发生内部错误，请联系管理员")

    def _claim(self, dispatch: bool = False) -> str | None:
        """Take the oldest queued job. Sent to Celery it waits in Redis (stage `queued`) and its
        attempts are counted by the workers, which see redeliveries; run here it starts at once."""
        running = (dict(status="running", stage="queued", percent=0) if dispatch else
                   dict(status="running", stage="ingest", percent=5, attempts=ReportJob.attempts + 1))
        now = time.monotonic()
        waiting = [job_id for job_id, when in list(self._not_before.items()) if when > now]
        with self.sessions.begin() as session:
            for job_id in session.scalars(select(ReportJob.id).where(ReportJob.status == "queued",
                                                                     ReportJob.id.not_in(waiting))
                                          .order_by(ReportJob.created).limit(5)):
                claimed = session.execute(update(ReportJob).where(ReportJob.id == job_id, ReportJob.status == "queued")
                                          .values(**running)).rowcount
                if claimed:
                    self._not_before.pop(job_id, None)
                    return job_id
        return None

    def _later(self, job_id: str, outage: LLMOutage) -> None:
        """Queue again a report whose model was unreachable, after a pause; fail it after OUTAGE_ATTEMPTS."""
        attempts = self._known(job_id).attempts
        log.warning("job %s: model endpoint unavailable (attempt %d): %s", job_id, attempts, outage)
        if attempts >= OUTAGE_ATTEMPTS:
            self._finish(job_id, status="failed",
                         error=f"大模型服务不可用（已尝试 {attempts} 次），服务恢复后重新提交即可重做")
            return
        self._not_before[job_id] = time.monotonic() + self.outage_pause * 2 ** (attempts - 1)
        with self.sessions.begin() as session:
            session.execute(update(ReportJob).where(ReportJob.id == job_id, ReportJob.status == "running")
                            .values(status="queued", stage=OUTAGE_WAITING, percent=0))

    def _progress(self, job_id: str, stage: str, percent: int) -> None:
        with self.sessions.begin() as session:
            session.execute(update(ReportJob).where(ReportJob.id == job_id).values(stage=stage, percent=percent))

    def _run(self, job_id: str) -> None:
        job = self._known(job_id)
        outcome = process(self.upload_bytes(job), job.filename, self.llm,
                          lambda stage, percent: self._progress(job_id, stage, percent))
        self._record(job_id, outcome)

    def upload_bytes(self, job: ReportJob) -> bytes:
        """The file as uploaded."""
        return (self.root / "uploads" / job.sha256[:2] / job.sha256).read_bytes()

    def _record(self, job_id: str, outcome: dict) -> None:
        """Store an outcome of `process`; a job already done keeps its first result."""
        if outcome["status"] == "failed":
            log.info("job %s failed: %s", job_id, outcome["error"])
            self._finish(job_id, status="failed", error=outcome["error"])
            return
        with self.sessions.begin() as session:
            stored = session.get(ReportJob, job_id)
            if stored.status == "done":
                return
            stored.report = outcome["report"]
            stored.document_text = outcome["document_text"]
            stored.agency, stored.year = stored.report["meta"].get("agency"), stored.report["meta"].get("year")
            stored.findings = self._findings(stored, session)  # with last year's report, which only this store knows
            stored.attempts = outcome.get("attempts", stored.attempts)
            stored.status, stored.stage, stored.percent, stored.error = "done", "done", 100, None
            session.flush()
            named = known(stored)
            for other in reports_sharing_stem(session, named) if named else ():
                if other.id != job_id:  # read before this one, which may be its last year's (or join its body)
                    other.findings = self._findings(other, session)

    def _finish(self, job_id: str, status: str, error: str) -> None:
        with self.sessions.begin() as session:
            session.execute(update(ReportJob).where(ReportJob.id == job_id, ReportJob.status != "done")
                            .values(status=status, stage=status, percent=100, error=error))

    # ------------------------------------------------------------------ the Celery dispatcher
    def _dispatch(self) -> None:
        while not self._stop.is_set():
            try:
                moved = self._collect() + self._send()
            except Exception:  # Redis gone for a moment: jobs stay in the table and are sent later
                log.exception("dispatch to the workers failed")
                moved = 0
            if not moved:
                self._wake.wait(timeout=0.5)
                self._wake.clear()

    def _send(self) -> int:
        """Queued jobs to Redis, while fewer than `inflight` are there."""
        with self.sessions() as session:
            room = self.cluster.inflight - session.scalar(
                select(func.count()).select_from(ReportJob).where(ReportJob.status == "running"))
        sent = 0
        while sent < room and (job_id := self._claim(dispatch=True)) is not None:
            job = self._known(job_id)
            try:
                self.cluster.send(job.sha256, job.filename, self.upload_bytes(job))
            except Exception:
                self._requeue(job_id)
                raise
            sent += 1
        return sent

    def _requeue(self, job_id: str) -> None:
        with self.sessions.begin() as session:
            session.execute(update(ReportJob).where(ReportJob.id == job_id)
                            .values(status="queued", stage="queued", percent=0))

    def _collect(self) -> int:
        """Record the outcomes the workers stored in Redis; show the progress of the others."""
        with self.sessions() as session:
            running = list(session.scalars(select(ReportJob).where(ReportJob.status == "running")
                                           .order_by(ReportJob.created).limit(self.cluster.inflight)))
        finished = 0
        for job in running:
            state = self.cluster.poll(job.sha256)
            if state["status"] in ("done", "failed"):
                self._record(job.id, state)
                finished += 1
            elif (state["stage"], state["percent"]) != (job.stage, job.percent):
                self._progress(job.id, state["stage"], state["percent"])
        return finished
