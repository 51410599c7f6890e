"""What the API returns for a job: the report's fields, provenance, findings, progress."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from openpyxl import Workbook

from service.api.drafting import with_staleness
from service.draft.checks import plain
from service.jobs import ReportJob, effective_report
from service.registry import TABLE_NAMES, TABLE_TITLES, registry


def summary(job: ReportJob) -> dict:
    findings = job.findings or []
    return {
        "id": job.id, "filename": job.filename, "status": job.status,
        "progress": {"stage": job.stage, "percent": job.percent},
        "agency": job.agency, "year": job.year, "error": job.error,
        "findings_count": {s: sum(f["severity"] == s for f in findings) for s in ("error", "warning", "info")},
        "crossyear": [{"rule": f["rule"], "severity": f["severity"], "message": f["message"]}
                      for f in findings if f["rule"].startswith("crossyear.")],  # for the page's batch view
        "created": _utc(job.created), **_reading(job),
    }


def _utc(moment: datetime | None) -> str | None:
    """ISO 8601 with its offset: SQLite hands back the stored UTC time without one, which a browser
    would take for its own local time."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()


def _reading(job: ReportJob) -> dict:
    """How much of the tables was read: the report's incomplete tables counted again over the cells
    a person filled, and whether anything was read at all."""
    if job.status != "done" or job.report is None:
        return {"reading": None, "incomplete": []}
    keys = set(job.report["fields"]) | set(job.corrections or {})
    short = [{**table, "read": sum(k.startswith(f"{table['table']}.") for k in keys)}
             for table in job.report.get("incomplete", [])]
    short = [table for table in short if table["read"] < table["expected"]]
    return {"reading": "complete" if not short else "partial" if keys else "none", "incomplete": short}


READING = {"complete": "完整", "partial": "部分读出", "none": "未读出表格"}


def detail(job: ReportJob) -> dict:
    report = effective_report(job)
    extracted = (job.report or {}).get("fields", {})
    out = {**summary(job), "meta": None, "fields": {}, "provenance": {}, "findings": job.findings or [],
           "missing": [], "unplaced": [], "warnings": [], "sections": {}, "corrections": job.corrections or {},
           "extracted": {k: extracted[k]["value"] for k in job.corrections or {} if k in extracted},
           "draft": with_staleness(job.draft, report)}
    if report is None:
        return out
    out.update(
        meta=report.meta.model_dump(), fields=report.values(), missing=report.missing,
        unplaced=[u.model_dump() for u in report.unplaced], warnings=report.warnings, sections=report.sections,
        provenance={key: {"method": f.method, "confidence": f.confidence,
                          **(f.provenance.model_dump(exclude_none=True) if f.provenance else {})}
                    for key, f in report.fields.items()},
    )
    return out


_COLUMNS = ("key", "table", "row", "column", "value", "method", "confidence", "raw", "page", "start", "end")


def _field_rows(job: ReportJob) -> list[list]:
    report = effective_report(job)
    if report is None:
        return []
    template = registry().template(report.meta.template)
    rows = []
    for key, spec in template.fields.items():
        field = report.fields.get(key)
        where = field.provenance.location if field and field.provenance else None
        rows.append([key, TABLE_NAMES[spec.table], spec.row.label, spec.column.label,
                     field.value if field else "（缺失）", field.method if field else "",
                     field.confidence if field else "", field.provenance.raw if field and field.provenance else "",
                     where.page if where else "", where.start if where else "", where.end if where else ""])
    return rows


def _draft_row(job: ReportJob) -> list | None:
    """Section 五 as drafted, in words only (no [F1] marks), as one more row of the export."""
    if not job.draft:
        return None
    saved = with_staleness(job.draft, effective_report(job))
    assert saved is not None  # the draft given back, marked
    label = saved["label"] + ("（数据已修改，草稿已过时，请重新生成）" if saved.get("stale") else "")
    return ["draft.problems_and_improvements", "五", "存在的主要问题及改进情况（草稿）", label,
            saved.get("text") or plain(saved["draft"]), saved["method"], "", "", "", "", ""]


def to_csv(job: ReportJob) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_COLUMNS)
    writer.writerows(_field_rows(job))
    if (row := _draft_row(job)) is not None:
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8-sig")  # the BOM lets Excel open Chinese CSV correctly


def to_xlsx(job: ReportJob) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its one sheet
    sheet.title = "字段"
    sheet.append(list(_COLUMNS))
    for row in _field_rows(job):
        sheet.append(row)
    state = book.create_sheet("读出情况")
    head = summary(job)
    state.append(["reading", READING[head["reading"]] if head["reading"] else _STATUS[job.status]])
    for table in head["incomplete"]:
        state.append([table["name"], f"读出 {table['read']}/{table['expected']}：{table['reason']}"])
    findings = book.create_sheet("检查结果")
    findings.append(["rule", "severity", "message", "fields", "suggestion"])
    for f in job.findings or []:
        suggestion = f["suggestions"][0]["reason"] if f["suggestions"] else ""
        findings.append([f["rule"], f["severity"], f["message"], " ".join(f["fields"]), suggestion])
    if (drafted := _draft_row(job)) is not None:
        sheet = book.create_sheet("第五部分草稿")
        sheet.append(["label", drafted[3]])
        sheet.append(["method", drafted[5]])
        for paragraph in drafted[4].splitlines():
            sheet.append(["text", paragraph])
        for citation in (job.draft or {}).get("citations", []):
            sheet.append(["citation", f"{citation['id']}：{citation['text']}"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_SUMMARY_COLUMNS = ("id", "filename", "agency", "year", "status", "reading", "errors", "warnings", "infos",
                    "created")
_STATUS = {"queued": "排队中", "running": "处理中", "done": "已完成", "failed": "失败"}


def _all_keys() -> list[str]:
    """Every field key of every template, in the registry's order, each once."""
    return list(dict.fromkeys(key for t in registry().templates.values() for key in t.fields))


def _report_row(job: ReportJob, keys: list[str]) -> list:
    head = summary(job)
    counts = head["findings_count"]
    values = report.values() if (report := effective_report(job)) else {}
    return [job.id, job.filename, job.agency or "", job.year or "",
            _STATUS[job.status] + (f"：{job.error}" if job.error else ""), READING.get(head["reading"], ""),
            counts["error"], counts["warning"], counts["info"], head["created"] or "",
            *(("（缺失）" if key not in values else "" if values[key] is None else values[key]) for key in keys)]


def reports_csv(jobs: list[ReportJob]) -> bytes:
    """One row per report: who, which year, its state and how much was read, then every field."""
    keys = _all_keys()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*_SUMMARY_COLUMNS, *keys])
    writer.writerows(_report_row(job, keys) for job in jobs)
    return buffer.getvalue().encode("utf-8-sig")


def reports_xlsx(jobs: list[ReportJob]) -> bytes:
    keys = _all_keys()
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its one sheet
    sheet.title = "报告"
    sheet.append([*_SUMMARY_COLUMNS, *keys])
    for job in jobs:
        sheet.append(_report_row(job, keys))
    sheet.freeze_panes = "C2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def reports_zip(jobs: list[ReportJob], render) -> bytes:
    """Each report's JSON export (`render(job)`), named after its file and id."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for job in jobs:
            archive.writestr(f"{Path(job.filename).stem}-{job.id[:8]}.json",
                             json.dumps(render(job), ensure_ascii=False, indent=1))
    return buffer.getvalue()


def layout() -> dict:
    """The template's tables for the page, straight from the registry."""
    reg = registry()
    return {
        "templates": {
            t.id: {"label": t.label,
                   "table2": [{"key": r.key, "label": r.label, "item": r.item,
                               "columns": [{"key": c.key, "label": c.label} for c in r.columns]}
                              for r in t.table2_rows],
                   "table3_rows": [{"key": r.key, "label": r.label, "group": r.group} for r in t.table3_rows],
                   "table3_groups": [{"key": g.key, "label": g.label} for g in t.table3_groups]}
            for t in reg.templates.values()},
        "table3_columns": [{"key": c.key, "label": c.label} for c in reg.table3_columns],
        "table4_groups": [{"key": g.key, "label": g.label} for g in reg.table4_groups],
        "table4_outcomes": [{"key": o.key, "label": o.label} for o in reg.table4_outcomes],
        "table_titles": TABLE_TITLES,
    }
