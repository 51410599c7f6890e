"""Web pages: the report's paragraphs and tables out of a full government page.

Layout tables (a table holding tables, or a single column of cells) are walked as containers;
leaf tables become grids with rowspan/colspan resolved. Scripts, styles and forms are skipped.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from service.document import Cell, Document, DocumentBuilder
from service.ingest.decode import decode
from service.ingest.grid import place

_SKIP = frozenset({"script", "style", "noscript", "template", "head", "iframe", "svg", "select", "button",
                   "input", "textarea", "object", "video", "audio", "map", "-comment"})
_BLOCK = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd",
                    "section", "article", "header", "footer", "nav", "aside", "main", "form", "blockquote",
                    "pre", "center", "caption", "tr", "td", "th", "tbody", "thead", "tfoot", "hr", "address"})
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.IGNORECASE)
_SPACE = re.compile(r"[\s\u00a0\u3000\u200b]+")


def load(data: bytes) -> Document:
    declared = _CHARSET.search(data[:4096])
    return parse(decode(data, declared.group(1).decode("ascii") if declared else None))


def parse(markup: str) -> Document:
    tree = LexborHTMLParser(markup)
    walker = _Walker()
    root = tree.body or tree.root
    if root is not None:
        walker.walk(root)
        walker.flush()
    title = tree.css_first("title")
    return walker.builder.build(title=_clean(title.text()) if title else None)


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


class _Walker:
    def __init__(self) -> None:
        self.builder = DocumentBuilder("html")
        self.buffer: list[str] = []

    def flush(self) -> None:
        if not self.buffer:  # every block element flushes before and after itself
            return
        for line in "".join(self.buffer).split("\n"):
            if not line.isspace():  # (a blank line makes no paragraph)
                self.builder.paragraph(_clean(line))
        self.buffer = []

    def walk(self, node: LexborNode) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                self.buffer.append(child.text_content or "")
            elif tag in _SKIP:
                continue
            elif tag == "br":
                self.buffer.append("\n")
            elif tag == "table":
                self.flush()
                if _is_layout(child):
                    self.walk(child)
                else:
                    self.builder.table(_grid(child))
                self.flush()
            elif tag in _BLOCK:
                self.flush()
                self.walk(child)
                self.flush()
            else:
                self.walk(child)


def _rows(table: LexborNode) -> list[LexborNode]:
    """The table's own rows, not those of tables nested in its cells."""
    rows = []
    for child in table.iter():
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(c for c in child.iter() if c.tag == "tr")
    return rows


def _cells(row: LexborNode) -> list[LexborNode]:
    return [c for c in row.iter() if c.tag in ("td", "th")]


def _is_layout(table: LexborNode) -> bool:
    if len(table.css("table")) > 1:  # css() matches the table itself too
        return True
    return all(len(_cells(row)) <= 1 for row in _rows(table))


_SPAN = re.compile(r"\s*(\d+)")


def _span(value: str | None) -> int:
    match = _SPAN.match(value) if value else None
    return max(1, min(int(match.group(1)), 1000)) if match else 1


def _cell(td: LexborNode) -> tuple[str, int, int]:
    attributes = td.attributes  # (a new dict at every call)
    return _clean(td.text(deep=True, separator="")), _span(attributes.get("rowspan")), _span(attributes.get("colspan"))


def _grid(table: LexborNode) -> list[list[Cell]]:
    return place([[_cell(td) for td in _cells(tr)] for tr in _rows(table)])
