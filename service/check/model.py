"""Findings: what the checker says about a report."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Severity = Literal["error", "warning", "info"]
Cause = Literal["extraction", "report"]
CAUSE_LABELS = {"extraction": "抽取疑似有误", "report": "报告本身不一致"}


class Suggestion(BaseModel):
    fields: dict[str, int | float | None]  # key → suggested value
    reason: str
    score: float = 0.0
    cause: Cause | None = None  # why the cells are likely wrong, when the source tells


class Finding(BaseModel):
    rule: str  # stable id, e.g. "t3.balance"
    severity: Severity
    fields: list[str]
    numbers: dict[str, int | float | None] = Field(default_factory=dict)
    message: str
    suggestions: list[Suggestion] = Field(default_factory=list)
