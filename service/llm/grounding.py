"""Aligning a number the model gives to where the source prints it, as langextract aligns extractions.

A value is kept only when its quote is found in the document (exactly, or ignoring white space) and
the number is printed inside that quote; the span of the number is its provenance.
"""

from __future__ import annotations

import re

from service.textnorm import halfwidth

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


class Source:
    """A document's text with a white-space-free view for finding quotes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._positions = [i for i, ch in enumerate(text) if not ch.isspace()]
        self._squashed = "".join(text[i] for i in self._positions)

    def find(self, quote: str) -> tuple[int, int] | None:
        squashed = "".join(quote.split())
        if not squashed:
            return None
        at = self._squashed.find(squashed)
        if at < 0:
            return None
        return self._positions[at], self._positions[at + len(squashed) - 1] + 1

    def number_in(self, span: tuple[int, int], value: float) -> tuple[int, int] | None:
        """The span of `value` printed inside `span` (full-width digits and separators allowed)."""
        start, end = span
        for match in _NUMBER.finditer(halfwidth(self.text[start:end])):
            printed = match.group(0).replace(",", "")
            if printed and float(printed) == float(value):
                return start + match.start(), start + match.end()
        return None


def ground(source: Source, value: float, quote: str) -> tuple[tuple[int, int] | None, str]:
    """(span of the number, "") when grounded, else (None, why not) in Chinese."""
    span = source.find(quote)
    if span is None:
        return None, "引文在原文中找不到"
    number = source.number_in(span, value)
    if number is None:
        return None, f"数值 {value} 不在引文中"
    return number, ""
