"""Plain text, including text pasted out of Word or a web page where the tables lost their grid.

The loader knows no table layout: every line that prints something is a paragraph whose span is
exact in the decoded text, so whatever separated the cells (tabs, bars, empty lines, runs of spaces)
stays visible to extract, which rebuilds table rows from the template (service/extract/stream.py).
Page furniture (page numbers, the title repeated as a running header) is dropped, and so are the
heading marks of text written as Markdown.
"""

from __future__ import annotations

import re

from service.document import Document, Location, Paragraph
from service.ingest.decode import decode
from service.ingest.furniture import is_page_number

_HEADING_MARK = re.compile(r"\s*(?:#{1,6}\s+)?")  # "## 一、总体情况" in text written as Markdown


def load(data: bytes) -> Document:
    return parse(decode(data))


def parse(text: str) -> Document:
    blocks: list[Paragraph] = []
    title, offset = None, 0
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        lead = _HEADING_MARK.match(line)
        assert lead is not None  # the pattern matches the empty string
        stripped = line[lead.end():].strip()
        start = offset + len(line) - len(line[lead.end():].lstrip())
        offset += len(raw)
        if not stripped or is_page_number(stripped):
            continue
        if stripped == title:
            continue  # the title repeated as a running page header
        title = title or stripped
        blocks.append(Paragraph(text=stripped, location=Location(start=start, end=start + len(stripped),
                                                                 block=len(blocks))))
    return Document(source_format="txt", text=text, blocks=blocks)
