"""Markdown: paragraphs, headings and pipe tables, parsed with markdown-it-py."""

from __future__ import annotations

from markdown_it import MarkdownIt

from service.document import Cell, Document, DocumentBuilder
from service.ingest.decode import decode

_PARSER = MarkdownIt("commonmark").enable("table")


def load(data: bytes) -> Document:
    return parse(decode(data))


def parse(source: str) -> Document:
    builder = DocumentBuilder("md")
    tokens = _PARSER.parse(source)
    rows: list[list[Cell]] = []
    row: list[Cell] | None = None
    in_cell = False
    for token in tokens:
        if token.type == "table_open":
            rows = []
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            rows.append(row or [])
            row = None
        elif token.type in ("th_open", "td_open"):
            in_cell = True
        elif token.type in ("th_close", "td_close"):
            in_cell = False
        elif token.type == "table_close":
            builder.table(rows)
        elif token.type == "inline":
            if in_cell and row is not None:
                row.append(Cell(text=_plain(token).strip(), row=len(rows), col=len(row)))
            else:
                for line in _plain(token).split("\n"):
                    builder.paragraph(line)
    return builder.build()


def _plain(inline) -> str:
    """Inline text without markup: emphasis and links keep their words, breaks become new lines."""
    parts = []
    for child in inline.children or []:
        if child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type in ("text", "code_inline"):
            parts.append(child.content)
    return "".join(parts)
