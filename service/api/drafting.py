"""The service's section 五 draft: drafted as `nianbao draft` does (the configured model, the vector store
when it exists, last year's report when it was uploaded), stored with the figures it read, and shown
stale once a correction changes one of them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from service.check import Finding
from service.draft import draft, stale_figures
from service.jobs import Jobs, ReportJob, effective_report
from service.jobs.bodies import apart_names
from service.report import Report
from service.settings import Settings

if TYPE_CHECKING:
    from service.store import Store

log = logging.getLogger(__name__)


def _store(settings: Settings) -> tuple[Store | None, str | None]:
    """The vector store the settings name, never created here; None and why when there is none."""
    from service.store import StoreUnavailable, open_store

    if not settings.chroma_url and not settings.chroma_dir.exists():
        return None, "本地向量库不存在，未检索往年第五部分（可用 nianbao index 存入往年报告）"
    try:
        store, warning = open_store(settings.chroma_dir, settings.chroma_url, settings.chroma_fallback)
    except StoreUnavailable as exc:
        return None, f"向量库不可用，未检索往年第五部分：{exc.message}"
    return store, warning


def draft_job(job: ReportJob, jobs: Jobs, settings: Settings) -> dict:
    previous = jobs.previous_year(job)
    store, note = _store(settings)
    if store is not None:  # a person's splits hold for the stored past reports too
        with jobs.sessions() as session:
            store.apart = frozenset(apart_names(session))
    factory = settings.job_llm()
    llm = factory() if factory is not None else None
    report = effective_report(job)
    assert report is not None  # only a finished job is drafted (the route answers 409 before)
    result = draft(report, effective_report(previous) if previous else None,
                   [Finding.model_validate(f) for f in job.findings or []], store=store, llm=llm)
    if note:
        log.info("draft %s: %s", job.id, note)
    return result.model_copy(update={"notes": [note] if note else []}).model_dump()


def with_staleness(saved: dict | None, report: Report | None) -> dict | None:
    """The stored draft with `stale` and `stale_keys` as of the report's current figures."""
    if not saved or report is None:
        return saved
    if "figures" not in saved:  # drafted before the figures were kept: stale once anything was corrected
        return {**saved, "stale": None, "stale_keys": []}
    changed = stale_figures(saved["figures"], report)
    if not changed:
        return {**saved, "stale": False, "stale_keys": []}
    checks = [{**c, "passed": False, "message": f"数据已修改（{'、'.join(changed)}），草稿中的数字已过时，请重新生成"}
              if c["name"] == "numbers_grounded" else c for c in saved.get("checks", [])]
    return {**saved, "stale": True, "stale_keys": changed, "checks": checks}
