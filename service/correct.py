"""Checker-guided correction of OCR cells: Report → Report, between extraction and checking.

A recogniser's slip (8 read as 6, a 0 lost in a speck) usually breaks one of the table's
identities, and the checker's repairs (`service.check`) name the cells and values that would
restore them. A repair is applied only when nothing else could explain the break: it is the one
repair among all suggestions that changes only OCR cells, to values the recogniser itself
nearly read (its alternative readings), and that leaves every identity it touches holding
without breaking another. Anything less sure is left for the checker to report and the LLM
chain or a person to decide; reports that are themselves inconsistent stay as printed, since
their cells were read without doubt and have no alternatives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.numbers import ocr_number, parse_cell
from service.registry import Template, registry
from service.report import FieldValue, Report

if TYPE_CHECKING:
    from service.check import Suggestion

CORRECTED_CONFIDENCE = 0.9  # the identities and the recogniser's runner-up agree, yet no one read it so
_MAX_ROUNDS = 10  # each round mends one break; more breaks than this is not a misread table


def correct_ocr(report: Report) -> Report:
    """The report with every OCR cell mended that exactly one checker repair mends beyond doubt."""
    if not any(f.method == "ocr" for f in report.fields.values()) or report.meta.template is None:
        return report
    template = registry().template(report.meta.template)
    for _ in range(_MAX_ROUNDS):
        fitting = [s for s in _suggestions(report) if _fits(s, report, template)]
        if len(fitting) != 1:
            break
        report = _apply(fitting[0], report)
    return report


def _suggestions(report: Report) -> list[Suggestion]:
    from service.check import check  # only reports with OCR cells come here

    unique: dict[tuple, Suggestion] = {}
    for finding in check(report):
        for suggestion in finding.suggestions:
            unique.setdefault(tuple(sorted(suggestion.fields.items())), suggestion)
    return list(unique.values())


def _fits(suggestion: Suggestion, report: Report, template: Template) -> bool:
    if not all(_nearly_read(report.fields.get(key), value) for key, value in suggestion.fields.items()):
        return False
    from service.check.repair import residuals

    before = residuals(template, report.values())
    after = residuals(template, {**report.values(), **suggestion.fields})
    touched = {i for i, identity in enumerate(template.identities)
               if set(suggestion.fields) & set(identity.lhs + identity.rhs)}
    return all(after[i] == 0 for i in touched) and all(after[i] == 0 for i, r in enumerate(before) if r == 0)


def _nearly_read(field: FieldValue | None, value) -> bool:
    """The cell was read by OCR and one of its alternative readings is this value, or OCR could not
    read it at all (then the identities alone, when one repair restores them all, give its value)."""
    reading = field.provenance.location.ocr if field and field.provenance else None
    if field is None or field.method != "ocr" or reading is None:
        return False
    if field.unread:
        return True
    return any(parse_cell(ocr_number(alt) or alt).value == value for alt in reading.alternatives)


def _apply(suggestion: Suggestion, report: Report) -> Report:
    fields = dict(report.fields)
    notes = []
    for key, value in suggestion.fields.items():
        old = fields[key]
        assert old.provenance is not None  # _fits took only cells that OCR read, with their readings
        provenance = old.provenance.model_copy(update={"alignment": "fuzzy"})
        fields[key] = FieldValue(value=value, method="ocr+check", confidence=CORRECTED_CONFIDENCE,
                                 provenance=provenance)
        notes.append(f"{key} 识别为 {old.value}，按表内勾稽关系与识别备选更正为 {value}")
    return report.model_copy(update={"fields": fields, "warnings": [*report.warnings, *notes]})
