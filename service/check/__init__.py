"""Check: Report → Findings, deterministic rules only. Public entry point: `check`."""

from __future__ import annotations

from service.check.crossyear import check_cross_year
from service.check.identities import check_identities
from service.check.model import CAUSE_LABELS, Finding, Suggestion
from service.check.prose import check_prose
from service.check.template import check_template
from service.check.values import check_values
from service.registry import registry
from service.report import Report

__all__ = ["CAUSE_LABELS", "Finding", "Suggestion", "check", "has_errors"]

_ORDER = {"error": 0, "warning": 1, "info": 2}


def check(report: Report, previous: Report | None = None) -> list[Finding]:
    template = registry().template(report.meta.template)
    findings = [
        *check_identities(report, template),
        *check_values(report, template),
        *check_prose(report, template),
        *check_template(report, template),
    ]
    if previous is not None:
        findings += check_cross_year(report, previous)
    return sorted(findings, key=lambda f: _ORDER[f.severity])


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
