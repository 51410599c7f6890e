"""The Document: what every loader produces and extraction reads.

A document is an ordered list of blocks, each a paragraph or a table. `text` is a plain rendering
of the whole document (for .txt it is the decoded file itself); every block and cell records the
character span of its text in `text`, plus the structural location its format offers
(DOCX paragraph/table index, PDF page and bounding box).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class OcrReading(BaseModel):
    """What the recogniser read in a scanned cell or line, before any number clean-up."""

    text: str
    confidence: float  # the least sure character's probability
    alternatives: list[str] = Field(default_factory=list)  # readings it nearly chose, likeliest first
    unread: bool = False  # there is ink, but the recogniser read nothing in it


class Location(BaseModel):
    """Where a piece of text sits in the source."""

    start: int | None = None  # character span in Document.text
    end: int | None = None
    block: int | None = None  # index in Document.blocks
    row: int | None = None  # grid position, for table cells
    col: int | None = None
    source_index: int | None = None  # paragraph or table index in the source file (DOCX, HTML)
    page: int | None = None  # 1-based, for paged sources
    bbox: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 in points (page images: on the straightened page)
    ocr: OcrReading | None = None  # set when the text was recognised from a page image


class Cell(BaseModel):
    text: str
    row: int
    col: int
    rowspan: int = 1
    colspan: int = 1
    location: Location = Field(default_factory=Location)


class Table(BaseModel):
    kind: Literal["table"] = "table"
    rows: list[list[Cell]]
    location: Location = Field(default_factory=Location)

    @property
    def n_rows(self) -> int:
        return len(self.rows)


class Paragraph(BaseModel):
    kind: Literal["paragraph"] = "paragraph"
    text: str
    location: Location = Field(default_factory=Location)


Block = Paragraph | Table


class Document(BaseModel):
    source_format: str
    text: str
    blocks: list[Block]
    title: str | None = None  # the file's own title metadata (HTML <title>, DOCX core properties)

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    @property
    def paragraphs(self) -> list[Paragraph]:
        return [b for b in self.blocks if isinstance(b, Paragraph)]


class DocumentBuilder:
    """Builds a Document whose `text` is rendered block by block, so that spans are exact.

    Paragraphs render as one line; a table renders one line per row, cells separated by tabs.
    """

    def __init__(self, source_format: str) -> None:
        self.source_format = source_format
        self._parts: list[str] = []
        self._length = 0
        self._blocks: list[Block] = []

    def _append(self, text: str) -> tuple[int, int]:
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        return start, self._length

    def paragraph(self, text: str, **where) -> None:
        text = text.strip()
        if not text:
            return
        start, end = self._append(text)
        self._append("\n")
        self._blocks.append(Paragraph(text=text, location=Location(start=start, end=end,
                                                                  block=len(self._blocks), **where)))

    def table(self, rows: list[list[Cell]], **where) -> None:
        """Add a table from cells that carry row/col/spans; their text spans are filled in here."""
        rows = [row for row in rows if row]
        if not rows:
            return
        block = len(self._blocks)
        table_start = self._length
        for row in rows:
            for i, cell in enumerate(row):
                if i:
                    self._append("\t")
                start, end = self._append(cell.text)
                cell.location = cell.location.model_copy(update={"start": start, "end": end, "block": block,
                                                                  "row": cell.row, "col": cell.col})
            self._append("\n")
        self._blocks.append(Table(rows=rows, location=Location(start=table_start, end=self._length,
                                                               block=block, **where)))

    def build(self, title: str | None = None) -> Document:
        return Document(source_format=self.source_format, text="".join(self._parts), blocks=self._blocks,
                        title=title)
