"""The Report: every field of the template with its value, provenance, method and confidence."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from service.document import Location

Method = Literal["rule", "ocr", "ocr+check", "llm"]
Alignment = Literal["exact", "fuzzy", "not_found"]


class Provenance(BaseModel):
    location: Location
    raw: str  # the cell text exactly as read, e.g. "—" for a blank
    label: str | None = None  # the row label the value was placed by
    alignment: Alignment = "exact"


class FieldValue(BaseModel):
    value: int | float | None
    method: Method = "rule"
    confidence: float = 1.0
    provenance: Provenance | None = None


class Meta(BaseModel):
    year: int | None = None
    agency: str | None = None
    template: str | None = None
    title: str | None = None


class UnplacedRow(BaseModel):
    """A row with numbers that no rule could place; the LLM chain's work list."""

    table: str | None
    label: str
    values: list[str]
    location: Location
    reason: str


class Report(BaseModel):
    meta: Meta
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    sections: dict[str, str | None] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)  # template keys not found in the source
    unplaced: list[UnplacedRow] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    def values(self) -> dict[str, int | float | None]:
        return {key: field.value for key, field in self.fields.items()}

    def flat(self) -> dict:
        """The gold.json shape other tools and scorers rely on."""
        return {
            "meta": {"year": self.meta.year, "agency": self.meta.agency, "template": self.meta.template},
            "fields": self.values(),
            "sections": {"problems_and_improvements": self.sections.get("problems_and_improvements")},
        }
