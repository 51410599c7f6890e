"""Persistent report jobs: an embedded queue on the relational store, a worker that survives restarts.

Public entry point: `Jobs`. A job is claimed with one conditional UPDATE, so two workers never run
the same job; on start every job left `running` by a crash is queued again, so nothing is lost.
"""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path

from sqlalchemy import select, update

from service.check import check
from service.extract import NotAReportError, extract
from service.ingest import IngestError, format_of, load
from service.jobs.db import ReportJob, connect
from service.jobs.uploads import Upload, store
from service.report import FieldValue, Report, report_from_flat

log = logging.getLogger(__name__)

__all__ = ["Jobs", "ReportJob", "effective_report"]


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
    return report


class Jobs:
    def __init__(self, data_dir: Path, database_url: str, workers: int = 1) -> None:
        self.root = data_dir
        self.sessions = connect(database_url)
        self.workers = workers
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        with self.sessions.begin() as session:
            resumed = session.execute(update(ReportJob).where(ReportJob.status == "running")
                                      .values(status="queued", stage="queued", percent=0)).rowcount
        if resumed:
            log.warning("requeued %d jobs interrupted by a stop", resumed)
        self._stop.clear()
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

    def get(self, job_id: str) -> ReportJob | None:
        with self.sessions() as session:
            return session.get(ReportJob, job_id)

    def list(self, agency: str | None = None, year: int | None = None, status: str | None = None) -> list[ReportJob]:
        query = select(ReportJob).order_by(ReportJob.created)
        if agency:
            query = query.where(ReportJob.agency.contains(agency))
        if year:
            query = query.where(ReportJob.year == year)
        if status:
            query = query.where(ReportJob.status == status)
        with self.sessions() as session:
            return list(session.scalars(query))

    def previous_year(self, job: ReportJob) -> ReportJob | None:
        """Last year's report of the same agency, if it was uploaded too."""
        if not job.agency or not job.year:
            return None
        with self.sessions() as session:
            return session.scalar(select(ReportJob).where(ReportJob.agency == job.agency,
                                                          ReportJob.year == job.year - 1,
                                                          ReportJob.status == "done"))

    def correct(self, job_id: str, values: dict) -> ReportJob:
        """Store a person's corrections (validated against the template) and check again at once."""
        with self.sessions.begin() as session:
            job = session.get(ReportJob, job_id)
            report = effective_report(job)
            merged = {**report.values(), **values}
            report_from_flat({"meta": report.meta.model_dump(), "fields": merged})  # raises FlatInputError
            job.corrections = {**(job.corrections or {}), **values}
            job.findings = self._findings(job, session)
        return self.get(job_id)

    def save_draft(self, job_id: str, draft: dict) -> None:
        with self.sessions.begin() as session:
            session.get(ReportJob, job_id).draft = draft

    def _findings(self, job: ReportJob, session) -> list[dict]:
        previous = session.scalar(select(ReportJob).where(
            ReportJob.agency == job.agency, ReportJob.year == (job.year or 0) - 1, ReportJob.status == "done"))
        before = effective_report(previous) if previous else None
        return [f.model_dump() for f in check(effective_report(job), before)]

    # ------------------------------------------------------------------ the worker
    def _work(self) -> None:
        while not self._stop.is_set():
            job_id = self._claim()
            if job_id is None:
                self._wake.wait(timeout=1.0)
                self._wake.clear()
                continue
            try:
                self._run(job_id)
            except Exception:  # a bug must fail its job, not kill the worker
                log.exception("job %s crashed", job_id)
                self._finish(job_id, status="failed", error="处理时发生内部错误，请联系管理员")

    def _claim(self) -> str | None:
        with self.sessions.begin() as session:
            for job_id in session.scalars(select(ReportJob.id).where(ReportJob.status == "queued")
                                          .order_by(ReportJob.created).limit(5)):
                claimed = session.execute(update(ReportJob).where(ReportJob.id == job_id, ReportJob.status == "queued")
                                          .values(status="running", stage="ingest", percent=5,
                                                  attempts=ReportJob.attempts + 1)).rowcount
                if claimed:
                    return job_id
        return None

    def _progress(self, job_id: str, stage: str, percent: int) -> None:
        with self.sessions.begin() as session:
            session.execute(update(ReportJob).where(ReportJob.id == job_id).values(stage=stage, percent=percent))

    def _run(self, job_id: str) -> None:
        job = self.get(job_id)
        data = (self.root / "uploads" / job.sha256[:2] / job.sha256).read_bytes()
        name = Path(job.filename).stem + format_of(data, job.filename)
        try:
            document = load(data, name)
            self._progress(job_id, "extract", 40)
            report = extract(document)
        except (IngestError, NotAReportError) as exc:
            log.info("job %s failed: %s", job_id, exc)
            self._finish(job_id, status="failed", error=getattr(exc, "message", str(exc)))
            return
        self._progress(job_id, "check", 80)
        with self.sessions.begin() as session:
            stored = session.get(ReportJob, job_id)
            stored.report = report.model_dump(mode="json")
            stored.document_text = document.text
            stored.agency, stored.year = report.meta.agency, report.meta.year
            stored.findings = self._findings(stored, session)
            stored.status, stored.stage, stored.percent, stored.error = "done", "done", 100, None

    def _finish(self, job_id: str, status: str, error: str) -> None:
        with self.sessions.begin() as session:
            session.execute(update(ReportJob).where(ReportJob.id == job_id)
                            .values(status=status, stage=status, percent=100, error=error))
