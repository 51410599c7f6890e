"""Reading the number in a table cell, as printed: "1,234" "１２" "12.5万元" "—" "无"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.textnorm import halfwidth

# Cells that mean "nothing here". Gold keeps them as null; provenance keeps the raw text.
BLANK_MARKS = frozenset({"", "-", "--", "—", "——", "–", "―", "/", "\\", "无", "空", "_", "×", "x", "X"})
_UNITS = re.compile(r"(万元|元|件|条|个|项|次|人次|起|家|份|篇|期|场|万)$")
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class CellValue:
    ok: bool  # the cell holds a number or a blank mark
    value: int | float | None = None

    @property
    def blank(self) -> bool:
        return self.ok and self.value is None


NOT_A_VALUE = CellValue(ok=False)
BLANK = CellValue(ok=True)


def parse_cell(text: str) -> CellValue:
    t = _SPACES.sub("", halfwidth(text)).replace("－", "-").replace("−", "-")
    if t in BLANK_MARKS:
        return BLANK
    t = _UNITS.sub("", t)
    if not _NUMBER.match(t):
        return NOT_A_VALUE
    t = t.replace(",", "")
    return CellValue(ok=True, value=float(t) if "." in t else int(t))
