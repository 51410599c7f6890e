"""Scoring extraction against gold, cell by cell, and summing the cells up along any dimension.

A blank gold cell (null) is matched by null or 0; a key missing from gold is not scored. Beside
every accuracy go the share of non-zero gold cells read right and what an output of all zeros
would score, because most cells of real reports are 0 or blank.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.registry import registry

META_KEYS = ("year", "agency", "template")
MISSING = "（缺失）"


def matches(expected, got) -> bool:
    if expected is None:
        return got is None or got == 0
    return got is not None and not isinstance(got, (str, bool)) and got == expected


@dataclass(frozen=True)
class CellScore:
    report: str
    modality: str
    template: str
    key: str
    expected: int | float | None
    got: int | float | str | None
    right: bool

    @property
    def nonzero(self) -> bool:
        return self.expected not in (None, 0)

    @property
    def table(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def row(self) -> str:
        return self.key.rsplit(".", 1)[0]

    @property
    def column(self) -> str:
        return f"{self.table}.{self.key.rsplit('.', 1)[1]}"


def score_cells(report_id: str, modality: str, gold: dict, flat: dict) -> list[CellScore]:
    template = gold["meta"]["template"]
    return [CellScore(report_id, modality, template, key, expected, got := flat["fields"].get(key, MISSING),
                      matches(expected, got))
            for key, expected in gold["fields"].items()]


def score_meta(gold: dict, flat: dict) -> dict[str, bool]:
    return {key: flat["meta"].get(key) == gold["meta"].get(key) for key in META_KEYS}


def summarise(cells: list[CellScore]) -> dict:
    """accuracy, non-zero accuracy and the all-zeros baseline of a set of cells."""
    total = len(cells)
    nonzero = [c for c in cells if c.nonzero]
    share = lambda part, whole: round(part / whole, 6) if whole else None
    return {
        "cells": total,
        "field_accuracy": share(sum(c.right for c in cells), total),
        "nonzero_cells": len(nonzero),
        "nonzero_accuracy": share(sum(c.right for c in nonzero), len(nonzero)),
        "zeros_baseline": share(sum(matches(c.expected, 0) for c in cells), total),
    }


def group(cells: list[CellScore], by: str) -> dict[str, dict]:
    groups: dict[str, list[CellScore]] = {}
    for cell in cells:
        groups.setdefault(getattr(cell, by), []).append(cell)
    return {name: summarise(members) for name, members in sorted(groups.items())}


def worst_keys(cells: list[CellScore], limit: int = 15) -> list[dict]:
    """The keys read wrong most often, with what was expected and what came out."""
    wrong: dict[str, list[CellScore]] = {}
    for cell in cells:
        if not cell.right:
            wrong.setdefault(cell.key, []).append(cell)
    ranked = sorted(wrong.items(), key=lambda item: (-len(item[1]), item[0]))[:limit]
    field = registry().field
    return [{"key": key, "label": found.label if (found := field(key)) else key, "errors": len(misses),
             "examples": [{"report": c.report, "modality": c.modality, "expected": c.expected, "got": c.got}
                          for c in misses[:3]]}
            for key, misses in ranked]
