"""Markdown: paragraphs, headings and pipe tables.

Pipe rows are read leniently, line by line, rather than by the GFM rule that cuts every row to
its delimiter row's width: Markdown made by converters from PDFs often has rows wider than their
header, and a cut row loses its last numbers.
"""

from __future__ import annotations

import re

from service.document import Cell, Document, DocumentBuilder
from service.ingest.decode import decode

_DELIMITER = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def load(data: bytes) -> Document:
    return parse(decode(data))


def parse(source: str) -> Document:
    builder = DocumentBuilder("md")
    rows: list[list[Cell]] = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            if not _DELIMITER.match(stripped):
                rows.append(_cells(stripped, len(rows)))
            continue
        if rows:
            builder.table(rows)
            rows = []
        builder.paragraph(_plain(stripped))
    if rows:
        builder.table(rows)
    return builder.build()


def _cells(line: str, row: int) -> list[Cell]:
    parts = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [Cell(text=_plain(part.strip()).replace("\\|", "|"), row=row, col=col) for col, part in enumerate(parts)]


def _plain(text: str) -> str:
    """Text without Markdown markup: headings, emphasis and links keep their words."""
    return _EMPHASIS.sub("", _LINK.sub(r"\1", _HEADING.sub("", text)))
