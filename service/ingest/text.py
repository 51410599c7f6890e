"""Plain text, including text pasted out of Word or a web page where the tables lost their grid.

The loader knows no table layout: every line that prints something is a paragraph whose span is
exact in the decoded text, so whatever separated the cells (tabs, bars, empty lines, runs of spaces)
stays visible to extract, which rebuilds table rows from the template (service/extract/stream.py).
Page furniture (page numbers, the title repeated as a running header) is dropped.
"""

from __future__ import annotations

from service.document import Document, Location, Paragraph
from service.ingest.decode import decode
from service.ingest.furniture import is_page_number


def load(data: bytes) -> Document:
    return parse(decode(data))


def parse(text: str) -> Document:
    blocks: list[Paragraph] = []
    title, offset = None, 0
    for raw in text.splitlines(keepends=True):
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        start = offset + len(line) - len(line.lstrip())
        offset += len(raw)
        if not stripped or is_page_number(stripped):
            continue
        if stripped == title:
            continue  # the title repeated as a running page header
        title = title or stripped
        blocks.append(Paragraph(text=stripped, location=Location(start=start, end=start + len(stripped),
                                                                 block=len(blocks))))
    return Document(source_format="txt", text=text, blocks=blocks)
