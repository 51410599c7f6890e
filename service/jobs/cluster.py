"""Scale-out on Celery, with Redis as broker and result backend (`NIANBAO_BROKER_URL`).

One task, `nianbao.process`, runs the same step as the embedded worker (`service.jobs.task.process`).
Its task id is the file's SHA-256, so Redis keeps one result per content:

- a report already done is never redone: the sender skips content whose result is stored, and a
  worker handed such a message again returns the stored result;
- the message carries the file's bytes, so workers need Redis and nothing else (no shared disk, no
  database): they run on any machine that reaches Redis;
- acks late and reject on worker lost: a message is acknowledged only after its result is stored,
  so a worker killed mid-report leaves it in Redis, and another worker takes it after
  `NIANBAO_VISIBILITY_TIMEOUT` seconds (a lost pool process is requeued at once);
- other exceptions (an LLM endpoint down: `LLMOutage`, never a done result; a bug) are retried
  with exponential backoff; an outage that outlasts the retries fails the report with a message
  saying so (submitting it again redoes it).

`Cluster` is the sending side (the service and `nianbao batch`); `run_worker` is `nianbao worker`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded
from kombu.exceptions import OperationalError

from service.jobs.task import process
from service.settings import Settings

log = logging.getLogger(__name__)

TASK = "nianbao.process"
PROGRESS = "PROGRESS"  # our own state: Celery's STARTED would overwrite a stored result before we could read it
RETRIES = 3
RETRY_BACKOFF = 2  # seconds, doubled per retry (2, 4, 8) and jittered
HARD_LIMIT_MARGIN = 5  # seconds past the soft limit before the pool process is killed
# A message is held unacknowledged while it runs and while a retry waits its countdown; it must not
# become visible to another worker before both could have ended.
SAFETY_MARGIN = HARD_LIMIT_MARGIN + RETRY_BACKOFF * 2 ** (RETRIES - 1) + 5
INTERNAL_ERROR = "处理时发生内部错误，请联系管理员"

__all__ = ["BrokerUnavailable", "Cluster", "ClusterMisconfigured", "TASK", "celery_app", "run_worker"]


class BrokerUnavailable(RuntimeError):
    """Redis cannot be reached; `message` is Chinese and fit to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ClusterMisconfigured(ValueError):
    """Settings that cannot work; `message` is Chinese and fit to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def celery_app(settings: Settings) -> Celery:
    """A Celery app for these settings, the task registered (senders need only its name)."""
    if not settings.broker_url:
        raise ClusterMisconfigured("未设置 NIANBAO_BROKER_URL（如 redis://127.0.0.1:6379/0）")
    if settings.visibility_timeout < settings.task_time_limit + SAFETY_MARGIN:
        raise ClusterMisconfigured(f"NIANBAO_VISIBILITY_TIMEOUT（{settings.visibility_timeout} 秒）须不小于 "
                                   f"NIANBAO_TASK_TIME_LIMIT + {SAFETY_MARGIN} 秒，否则仍在处理的报告会被重复派发")
    app = Celery("nianbao", broker=settings.broker_url, backend=settings.broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a worker holds no more messages than it runs
        task_track_started=False,  # see PROGRESS
        task_soft_time_limit=settings.task_time_limit,
        task_time_limit=settings.task_time_limit + HARD_LIMIT_MARGIN,
        task_compression="gzip",  # the file's bytes
        result_compression="gzip",  # the report with its provenance and the document's text
        result_expires=timedelta(days=7),  # how long "already done" is remembered in Redis
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            # look for messages of dead workers often enough that the timeout, not the sweep, decides
            "unacked_restore_interval": max(1, min(10, settings.visibility_timeout // 5)),
            "unacked_restore_throttle": 1,
        },
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    _register(app, settings)
    return app


def _register(app: Celery, settings: Settings) -> None:
    llm = settings.job_llm()  # a factory: each worker process makes its own client on first use

    @app.task(bind=True, name=TASK, autoretry_for=(Exception,), dont_autoretry_for=(SoftTimeLimitExceeded,),
              max_retries=RETRIES, retry_backoff=RETRY_BACKOFF, retry_jitter=True,
              resultrepr_maxsize=160)  # the worker log shows the start of a result, not the report
    def process_report(self, filename: str, data: bytes) -> dict:
        before = self.backend.get_task_meta(self.request.id)
        if before["status"] == "SUCCESS":  # redelivered after its result was stored: never redo
            return before["result"]
        attempts = _attempts(before, self.request.retries)

        def progress(stage: str, percent: int) -> None:
            self.update_state(state=PROGRESS, meta={"stage": stage, "percent": percent, "attempts": attempts})

        progress("ingest", 5)  # records the attempt before any work, so a kill mid-report is counted
        return {**process(data, filename, llm, progress), "attempts": attempts}


def _attempts(before: dict, retries: int) -> int:
    """How many times this content has started: a PROGRESS state left behind means a worker died on it."""
    earlier = before["result"] if before["status"] == PROGRESS else {}
    return max(earlier.get("attempts", 0), retries) + 1


class Cluster:
    """The sending side: hand a file to the workers, then read how it is going."""

    def __init__(self, settings: Settings) -> None:
        self.app = celery_app(settings)
        self.inflight = settings.broker_inflight
        self.time_limit = settings.task_time_limit

    def check(self) -> None:
        """Fail early, in Chinese, when Redis is not there."""
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=2, interval_start=0.2, interval_step=0.5)
        except (OperationalError, OSError) as exc:
            raise BrokerUnavailable(f"无法连接任务队列（Redis）：{self._where()}") from exc

    def send(self, sha256: str, filename: str, data: bytes) -> None:
        if self._meta(sha256)["status"] == "SUCCESS":
            return  # done before (by this or another sender): the result is read by `poll`
        self.app.send_task(TASK, args=[filename, data], task_id=sha256)

    def poll(self, sha256: str) -> dict:
        """`{"status": "queued" | "running", "stage", "percent"}`, or the outcome itself."""
        meta = self._meta(sha256)
        state, value = meta["status"], meta["result"]
        if state == "SUCCESS":
            return value
        if state == "FAILURE":
            log.warning("task %s failed: %r", sha256, value)
            return {"status": "failed", "error": self._failure(value), "redo": type(value).__name__ == "LLMOutage"}
        if state == PROGRESS:
            return {"status": "running", "stage": value["stage"], "percent": value["percent"]}
        return {"status": "running" if state == "RETRY" else "queued", "stage": "queued", "percent": 0}

    def _meta(self, sha256: str) -> dict:
        """State and value read together: read apart, a task may finish in between."""
        return self.app.backend.get_task_meta(sha256)

    def _failure(self, error: object) -> str:
        if type(error).__name__ in ("SoftTimeLimitExceeded", "TimeLimitExceeded"):
            return f"处理超时（超过 {self.time_limit} 秒）"
        if type(error).__name__ == "LLMOutage":
            return f"大模型服务不可用（已重试 {RETRIES} 次），服务恢复后重新提交即可重做"
        return INTERNAL_ERROR

    def _where(self) -> str:
        return self.app.connection_for_write().as_uri()  # the password masked


def run_worker(settings: Settings, concurrency: int, name: str | None) -> None:
    """`nianbao worker`: a Celery worker for `nianbao.process`, until stopped."""
    app = celery_app(settings)
    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}"]
    if name:
        argv.append(f"--hostname={name}")
    app.worker_main(argv)
