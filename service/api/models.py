"""What the API answers, typed: these models are the published OpenAPI schema, and FastAPI checks
every answer against them. One error model serves every 4xx."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_serializer

from service.check import Finding
from service.document import Location
from service.report import Meta

Status = Literal["queued", "running", "done", "failed"]
Reading = Literal["complete", "partial", "none"]


# ------------------------------------------------------------------------------------------ errors
class ErrorItem(BaseModel):
    """One invalid part of a request, in FastAPI's own shape (its message in Chinese when ours)."""

    loc: list[str | int]
    msg: str
    type: str


class FlatReport(BaseModel):
    """The gold.json shape: meta, every field's value, section 五."""

    meta: dict[str, Any]
    fields: dict[str, int | float | None]
    sections: dict[str, str | None] = Field(default_factory=dict)


class Error(BaseModel):
    """Every 4xx answer: `detail` is the Chinese message to show a person."""

    detail: str = Field(description="给人看的中文说明")
    errors: list[ErrorItem] | None = Field(None, description="请求校验失败时（422）：逐项列出")
    missing: list[str] | None = Field(None, description="POST /api/extract 只读到部分字段时（422）：缺失的字段")
    partial: FlatReport | None = Field(None, description="POST /api/extract 只读到部分字段时（422）：已读到的部分")


ERRORS: dict[int | str, dict[str, Any]] = {"4XX": {"model": Error, "description": "请求有误（400 空文件、401 令牌、404 不存在、409 未完成、"
                                                 "413 过大、415 类型不支持、422 格式错误），中文说明在 detail"}}


# ------------------------------------------------------------------------------------------ reports
class Progress(BaseModel):
    stage: str
    percent: int


class FindingCounts(BaseModel):
    error: int
    warning: int
    info: int


class CrossYearNote(BaseModel):
    rule: str
    severity: str
    message: str


class TableShortfall(BaseModel):
    """A table of the template read in part or not at all (after a person's corrections)."""

    table: str
    name: str
    read: int
    expected: int
    reason: str


class ReportSummary(BaseModel):
    id: str
    filename: str
    status: Status
    progress: Progress
    agency: str | None
    year: int | None
    error: str | None
    findings_count: FindingCounts
    crossyear: list[CrossYearNote]
    created: str | None = Field(description="上传时间，ISO 8601，带时区（UTC）")
    reading: Reading | None = Field(description="complete 完整、partial 部分读出、none 未读出表格；未完成时为 null")
    incomplete: list[TableShortfall]


class FieldSource(BaseModel):
    """How and where a value was read; keys without a value are left out."""

    method: str
    confidence: float
    location: Location | None = None
    raw: str | None = None
    label: str | None = None
    alignment: str | None = None
    grid: str | None = None

    @model_serializer(mode="wrap")
    def _without_nulls(self, handler):
        return {k: v for k, v in handler(self).items() if v is not None}


class ReportDetail(ReportSummary):
    meta: Meta | None
    fields: dict[str, int | float | None]
    provenance: dict[str, FieldSource]
    findings: list[Finding]
    missing: list[str]
    unplaced: list[dict[str, Any]]
    warnings: list[str]
    sections: dict[str, str | None]
    corrections: dict[str, int | float | None]
    extracted: dict[str, int | float | None] = Field(description="人工修改过的单元格抽取时的原值（抽取时缺失的不列出）")
    draft: dict[str, Any] | None


class ProgressEvent(BaseModel):
    """The data of one server-sent event of GET /api/reports/{id}/events."""

    status: Status
    stage: str
    percent: int
    error: str | None


# each event of the stream, as OpenAPI before 3.2 describes a text/event-stream item
EVENT_SCHEMA = {"type": "object", "required": ["data"], "properties": {
    "event": {"type": "string"},
    "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": ProgressEvent.model_json_schema()}}}


class ReportList(BaseModel):
    reports: list[ReportSummary]


class FileOutcome(BaseModel):
    """What became of one file of an upload (a .zip's members each have their own)."""

    filename: str
    archive: str | None = Field(None, description="文件来自哪个 .zip")
    outcome: Literal["accepted", "duplicate", "rejected", "skipped"]
    id: str | None = Field(None, description="accepted、duplicate：报告的 id")
    reason: str | None = Field(None, description="duplicate、rejected、skipped：中文说明")


class Submitted(BaseModel):
    ids: list[str] = Field(description="接受的文件和已存在的文件对应的报告 id，按上传顺序")
    files: list[FileOutcome]


class BulkExport(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=5000)
    format: Literal["csv", "xlsx", "zip"]


class Source(BaseModel):
    filename: str
    text: str


class Corrections(BaseModel):
    fields: dict[str, int | float | None]


# ------------------------------------------------------------------------------------------ registry
class Named(BaseModel):
    key: str
    label: str


class Table2RowLayout(Named):
    item: str
    columns: list[Named]


class Table3RowLayout(Named):
    group: str | None


class TemplateLayout(BaseModel):
    label: str
    table2: list[Table2RowLayout]
    table3_rows: list[Table3RowLayout]
    table3_groups: list[Named]


class Layout(BaseModel):
    templates: dict[str, TemplateLayout]
    table3_columns: list[Named]
    table4_groups: list[Named]
    table4_outcomes: list[Named]
    table_titles: dict[str, str]


# ------------------------------------------------------------------------------------------ health
class Check(BaseModel):
    ok: bool
    message: str


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    version: str
    jobs: Literal["embedded", "celery"]
    checks: dict[str, Check] = Field(description="database、broker（配置了时）、store：各自是否可用")
