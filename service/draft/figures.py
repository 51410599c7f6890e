"""The figures a draft may state: what the report prints, nothing else.

- a key missing from the report is a cell the report does not have (a table left out): no figure;
- a printed value is the figure;
- a blank total (table 3's 总计 column or row, table 4's 总计) is recomputed from its printed parts
  when any part is printed, and marked `summed` so the draft can say the total was blank;
- any other blank cell is no figure (`count` reads it as 0 only where a zero states nothing wrong).

`Figures.used` records every figure read, for the list shown with the draft and the stale check.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from service.registry import registry
from service.report import Report


@dataclass(frozen=True)
class Figure:
    key: str
    value: int | float
    how: Literal["printed", "summed"]
    parts: tuple[str, ...] = ()  # the printed cells a summed total was recomputed from


@cache
def _alternatives(template_id: str, key: str) -> tuple[tuple[str, ...], ...]:
    """The ways a blank total can be recomputed from other cells, preferred first."""
    reg = registry()
    parts = key.split(".")
    if parts[0] == "t4" and parts[-1] == "total":
        return (tuple(f"t4.{parts[1]}.{o.key}" for o in reg.table4_outcomes if o.key != "total"),)
    if parts[0] != "t3" or template_id not in reg.templates:
        return ()
    row, column = ".".join(parts[1:-1]), parts[-1]
    applicants = tuple(f"t3.{row}.{c.key}" for c in reg.table3_columns if c.key != "total")
    results = tuple(f"t3.{r.key}.{column}" for r in reg.templates[template_id].table3_rows if r.result)
    if column == "total" and row == "total":
        return applicants, results
    if column == "total":
        return (applicants,)
    if row == "total":
        return (results,)
    return ()


class Figures:
    def __init__(self, report: Report | None) -> None:
        self.report = report
        self.used: dict[str, Figure] = {}
        self.blank: set[str] = set()  # cells read that are printed blank and could not be recomputed

    def figure(self, key: str, _depth: int = 0) -> Figure | None:
        report = self.report
        if report is None or key not in report.fields:
            return None
        value = report.fields[key].value
        if value is not None:
            return Figure(key, value, "printed")
        if _depth > 2:
            return None
        for alternative in _alternatives(report.meta.template or "", key):
            found = [f for f in (self.figure(p, _depth + 1) for p in alternative) if f is not None]
            if found:
                parts = tuple(p for f in found for p in (f.parts or (f.key,)))
                return Figure(key, _tidy(sum(f.value for f in found)), "summed", parts)
        return None

    def value(self, key: str) -> int | float | None:
        """The figure's value, recorded as used; None when the report does not print it."""
        found = self.figure(key)
        if found is not None:
            self.used[key] = found
        elif self.report is not None and key in self.report.fields:
            self.blank.add(key)
        return found.value if found else None

    def count(self, key: str) -> int | float | None:
        """A count where a blank cell means none: 0 for a blank the report has, None for a cell it lacks."""
        if self.report is None or key not in self.report.fields:
            return None
        value = self.value(key)
        return 0 if value is None else value

    def summed(self, *keys: str) -> bool:
        return any(k in self.used and self.used[k].how == "summed" for k in keys)

    def has_table(self, table: str) -> bool:
        return self.report is not None and any(k.startswith(f"{table}.") for k in self.report.fields)


def _tidy(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 4)


def used_figures(figures: Figures) -> list[dict]:
    """The figures a draft was written from, as stored with it: key, value, printed or summed (and from what)."""
    rows: list[dict[str, Any]] = [{"key": f.key, "value": f.value, "how": f.how, "parts": list(f.parts)}
                                  for f in figures.used.values()]
    rows += [{"key": key, "value": None, "how": "blank", "parts": []} for key in figures.blank]
    return sorted(rows, key=lambda r: r["key"])


def stale_figures(used: list[dict], report: Report) -> list[str]:
    """Keys whose value in `report` is no longer what the draft was written from."""
    now = Figures(report)
    changed = []
    for item in used:
        found = now.figure(item["key"])
        if (found.value if found else None) != item["value"]:
            changed.append(item["key"])
    return changed
