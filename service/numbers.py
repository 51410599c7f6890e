"""Reading the number in a table cell, as printed: "1,234" "１２" "12.5万元" "—" "无"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

from service.textnorm import halfwidth

# Cells that mean "nothing here". Gold keeps them as null; provenance keeps the raw text.
BLANK_MARKS = frozenset({"", "-", "--", "—", "——", "–", "―", "/", "\\", "无", "空", "_", "×", "x", "X"})
_UNITS = re.compile(r"(万元|元|件|条|个|项|次|人次|起|家|份|篇|期|场|笔|万)$")
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class CellValue:
    ok: bool  # the cell holds a number or a blank mark
    value: int | float | None = None
    unread: bool = False  # a value cell of a page image that OCR could not read

    @property
    def blank(self) -> bool:
        return self.ok and self.value is None and not self.unread


NOT_A_VALUE = CellValue(ok=False)
BLANK = CellValue(ok=True)
UNREAD = CellValue(ok=True, unread=True)


def parse_cell(text: str) -> CellValue:
    if text.isdigit() and text.isascii():  # most cells: plain digits, read as the rest would read them
        return CellValue(ok=True, value=int(text))
    t = _SPACES.sub("", halfwidth(text)).replace("－", "-").replace("−", "-")
    if t in BLANK_MARKS:
        return BLANK
    t = _UNITS.sub("", t)
    if not _NUMBER.match(t):
        return NOT_A_VALUE
    t = t.replace(",", "")
    return CellValue(ok=True, value=float(t) if "." in t else int(t))


# What a recogniser reads for a digit or a blank mark in a table cell.
_OCR_DIGITS = str.maketrans({"l": "1", "I": "1", "|": "1", "!": "1", "i": "1", "O": "0", "o": "0", "D": "0",
                             "。": ".", "·": ".", "，": ",", "、": ","})
_OCR_DASHES = re.compile(r"^[一—_~～\-－=]+$")
_OCR_NOISE = re.compile(r"[\'\"`‘’“”:;：；^*]")  # specks read as marks that no number prints
_OCR_SIGN = re.compile(r"^[-—–一]+(?=\d)")
_THOUSANDS_DOT = re.compile(r"^\d{1,3}(?:\.\d{3})+$")


def ocr_number(text: str) -> str | None:
    """The number a recognised cell holds, in plain digits, or None when it is not a number.

    Folds full-width forms, letters read for digits (l I | → 1, O o D → 0) and a dash read as
    "一"; drops spaces, which split a number into boxes, quote and colon marks (specks), dashes
    after the digits and stray dots at either end. A dot
    before exactly three digits ("1.234") is a misread thousands comma: reports print money to
    two decimals at most. Text with no digit is a number only when it is a lone zero letter.
    """
    t = _SPACES.sub("", halfwidth(text))
    if _OCR_DASHES.match(t):
        return "—"
    t = _OCR_NOISE.sub("", t.translate(_OCR_DIGITS)).rstrip("-—–_~").strip(".,")  # a sign only leads
    t = _OCR_SIGN.sub("-", t)  # a minus sign read twice or as a long dash ("--1", "—1")
    if not t or (not any(c.isdigit() for c in halfwidth(text)) and t != "0"):
        return None
    if _THOUSANDS_DOT.match(t):
        t = t.replace(".", "")
    if t.count(".") > 1:
        t = t.replace(".", "")
    t = _UNITS.sub("", t)
    return t if _NUMBER.match(t) else None


T = TypeVar("T")


def fit_values(values: list[tuple[T, CellValue]], n: int) -> list[tuple[T, CellValue]] | None:
    """Exactly n values, dropping surplus blank cells at the ends (separators, merged padding)."""
    values = list(values)
    while len(values) > n and values[-1][1].blank:
        values.pop()
    while len(values) > n and values[0][1].blank:
        values.pop(0)
    return values if len(values) == n else None
