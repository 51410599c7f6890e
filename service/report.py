"""The Report: every field of the template with its value, provenance, method and confidence."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field

from service.document import Location

Method = Literal["rule", "ocr", "ocr+check", "llm", "manual"]
Alignment = Literal["exact", "fuzzy", "not_found"]


class Provenance(BaseModel):
    location: Location
    raw: str  # the cell text exactly as read, e.g. "—" for a blank
    label: str | None = None  # the row label the value was placed by
    alignment: Alignment = "exact"
    # How a row of text that lost its grid was rebuilt (service/extract/stream.py): "dense" (every
    # cell printed), "separator" (blank cells counted from the separators) or "columns" (placed
    # under the columns of the table's complete rows); None for a cell of a real grid.
    grid: str | None = None


class FieldValue(BaseModel):
    value: int | float | None
    method: Method = "rule"
    confidence: float = 1.0
    provenance: Provenance | None = None
    # A cell of a page image that OCR could not read: no value yet, its image region in provenance,
    # for the checker to suggest a value and a person to confirm it.
    unread: bool = False


class Meta(BaseModel):
    year: int | None = None
    agency: str | None = None
    template: str | None = None
    title: str | None = None
    # The places above the agency its report prints for it when its name leaves them out (洪泽区人民政府,
    # 本报告由淮安市洪泽区人民政府办公室…编制 → 淮安市洪泽区): which body it is (service/agency.known_name).
    region: str | None = None


class UnplacedRow(BaseModel):
    """A row with numbers that no rule could place; the LLM chain's work list."""

    table: str | None
    label: str
    values: list[str]
    location: Location
    reason: str
    value_locations: list[Location] = Field(default_factory=list)  # one per value, for grounding


class TableStatus(BaseModel):
    """A table of the template that was not read whole: which, how much, and why (Chinese)."""

    table: str  # t2, t3 or t4
    name: str  # 表二 …
    read: int  # fields read
    expected: int  # fields the template has
    reason: str


class LLMRound(BaseModel):
    """One request to the model and what became of its answer."""

    task: str  # map_rows, read_prose, read_meta, reask, whole_report
    prompt_version: str
    accepted: dict[str, int | float | str | None] = Field(default_factory=dict)  # field key or meta.<name>
    rejected: list[str] = Field(default_factory=list)  # why each refused value was refused


class LLMTrace(BaseModel):
    model: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached: int = 0
    rounds: list[LLMRound] = Field(default_factory=list)
    note: str | None = None  # e.g. the endpoint was down and the rules' result stands
    unavailable: bool = False  # the endpoint could not be reached: a job redoes the report later


class Report(BaseModel):
    meta: Meta
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    sections: dict[str, str | None] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)  # template keys not found in the source
    incomplete: list[TableStatus] = Field(default_factory=list)  # tables read in part or not at all
    unplaced: list[UnplacedRow] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    llm: "LLMTrace | None" = None  # what the LLM chain did, when it ran

    def recount_tables(self) -> None:
        """After values arrive from elsewhere (the model, a person's corrections): each table's count
        of cells read again, and a table now read whole no longer listed."""
        for table in self.incomplete:
            table.read = sum(key.startswith(f"{table.table}.") and not field.unread for key, field in self.fields.items())
        self.incomplete = [table for table in self.incomplete if table.read < table.expected]

    def values(self) -> dict[str, int | float | None]:
        return {key: field.value for key, field in self.fields.items()}

    def flat(self) -> dict:
        """The gold.json shape other tools and scorers rely on."""
        return {
            "meta": {"year": self.meta.year, "agency": self.meta.agency, "template": self.meta.template},
            "fields": self.values(),
            "sections": {"problems_and_improvements": self.sections.get("problems_and_improvements")},
        }


class FlatInputError(ValueError):
    """A flat JSON that is not in the gold.json shape; the message is Chinese."""


def report_from_flat(data: object) -> Report:
    """A Report from the gold.json shape, so checks can run on corrected or third-party data."""
    from service.registry import registry

    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        raise FlatInputError('JSON 应为 {"meta": {…}, "fields": {字段: 数值}} 格式')
    meta = data.get("meta")
    if not isinstance(meta, dict):
        meta = {}
    templates = registry().templates
    template_id = str(meta.get("template") or max(templates, key=lambda t: len(set(templates[t].keys) & set(data["fields"]))))
    if template_id not in templates:
        raise FlatInputError(f"未知模板“{template_id}”，应为 {'、'.join(templates)}")
    unknown = [k for k in data["fields"] if k not in templates[template_id].fields]
    if unknown:
        raise FlatInputError(f"{template_id} 版模板没有这些字段：{'、'.join(unknown[:5])}{' 等' if len(unknown) > 5 else ''}")
    fields = {}
    for key, value in data["fields"].items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or isinstance(value, float) and not math.isfinite(value)):  # json reads NaN
            raise FlatInputError(f"字段 {key} 的值应为数字或 null，实为 {value!r}")
        fields[key] = FieldValue(value=value)
    year, agency = meta.get("year"), meta.get("agency")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise FlatInputError(f"meta.year 应为整数年份，实为 {year!r}")
    if agency is not None and not isinstance(agency, str):
        raise FlatInputError(f"meta.agency 应为机关名称（字符串），实为 {agency!r}")
    sections = data.get("sections")
    if not isinstance(sections, dict):
        sections = {}
    return Report(meta=Meta(year=year, agency=agency, template=template_id), fields=fields,
                  sections={k: v for k, v in sections.items() if isinstance(v, str)},
                  missing=[k for k in templates[template_id].keys if k not in fields])
