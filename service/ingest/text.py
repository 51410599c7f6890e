"""Plain text, including text pasted out of Word where the tables lost their grid.

Three cell layouts are rebuilt into rows:
- tab-indented: every cell on its own line after a tab, rows separated by empty lines, long header
  cells wrapped onto a following line without the tab;
- tab-separated: one row per line, cells separated by tabs;
- one cell per line without tabs: blank cells are empty lines and a row starts at each label line.
Page furniture (page numbers, the title repeated as a running header) is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from service.document import Cell, Document, Location, Paragraph, Table
from service.ingest.decode import decode
from service.ingest.furniture import is_page_number
from service.numbers import parse_cell

_SENTENCE_END = ("。", "；", ";", "！", "？", "：", ":")
_MAX_LABEL = 60
_MIN_VALUES_IN_TABLE = 3


@dataclass
class _Line:
    text: str  # without the line break
    start: int  # offset in the document text

    @property
    def stripped(self) -> str:
        return self.text.strip()


@dataclass
class _Span:
    text: str
    start: int
    end: int

    def cell(self, row: int, col: int) -> Cell:
        return Cell(text=self.text, row=row, col=col, location=Location(start=self.start, end=self.end))


@dataclass
class _Rows:
    rows: list[list[_Span]] = field(default_factory=list)
    current: list[_Span] = field(default_factory=list)

    def end_row(self) -> None:
        if self.current:
            self.rows.append(self.current)
            self.current = []


def load(data: bytes) -> Document:
    return parse(decode(data))


def parse(text: str) -> Document:
    lines = _lines(text)
    lines = _drop_furniture(lines)
    blocks: list[Paragraph | Table] = []
    i = 0
    while i < len(lines):
        if "\t" in lines[i].text:
            i = _tab_table(lines, i, blocks)
        else:
            j = i
            while j < len(lines) and "\t" not in lines[j].text:
                j += 1
            _plain(lines[i:j], blocks)
            i = j
    for index, block in enumerate(blocks):
        _set_block_index(block, index)
    return Document(source_format="txt", text=text, blocks=blocks)


def _lines(text: str) -> list[_Line]:
    out, offset = [], 0
    for raw in text.splitlines(keepends=True):
        out.append(_Line(raw.rstrip("\r\n"), offset))
        offset += len(raw)
    return out


def _drop_furniture(lines: list[_Line]) -> list[_Line]:
    title = next((line.stripped for line in lines if line.stripped), None)
    kept, seen_title = [], False
    for line in lines:
        s = line.stripped
        if is_page_number(s):
            continue
        if s == title:
            if seen_title:
                continue  # the title repeated as a running page header
            seen_title = True
        kept.append(line)
    return kept


def _span(line: _Line, part_start: int, part: str) -> _Span:
    """A stripped piece of `line` that begins `part_start` characters into it."""
    lead = len(part) - len(part.lstrip())
    text = part.strip()
    start = line.start + part_start + lead
    return _Span(text, start, start + len(text))


def _is_label(text: str) -> bool:
    return bool(text) and not parse_cell(text).ok


def _tab_table(lines: list[_Line], i: int, blocks: list) -> int:
    """Read tab-indented and tab-separated rows from line i on; return the first line after them."""
    acc = _Rows()
    last_cell_line = -2
    while i < len(lines):
        line = lines[i]
        if "\t" in line.text:
            fields = line.text.split("\t")
            if len(fields) == 2 and not fields[0].strip():
                acc.current.append(_span(line, len(fields[0]) + 1, fields[1]))  # one tab-indented cell
                last_cell_line = i
            else:
                acc.end_row()
                offset, row = 0, []
                for part in fields:
                    row.append(_span(line, offset, part))
                    offset += len(part) + 1
                acc.rows.append(row)
        elif not line.stripped:
            acc.end_row()
        elif last_cell_line == i - 1 and acc.current and _continues(acc.current[-1], line):
            prev = acc.current[-1]
            acc.current[-1] = _Span(prev.text + line.stripped, prev.start, line.start + len(line.text.rstrip()))
            last_cell_line = i
        else:
            break
        i += 1
    acc.end_row()
    blocks.append(_table(acc.rows))
    return i


def _continues(previous: _Span, line: _Line) -> bool:
    """A header cell wrapped onto the next line: both parts are short labels."""
    s = line.stripped
    return _is_label(previous.text) and _is_label(s) and len(s) <= 12 and not s.endswith(_SENTENCE_END)


def _plain(lines: list[_Line], blocks: list) -> None:
    """Paragraphs, and tables laid out one cell per line without tabs."""
    kinds = [_kind(line.stripped) for line in lines]
    i = 0
    while i < len(lines):
        end = _cell_run_end(kinds, i)
        if end > i:
            blocks.append(_table(_rows_from_cell_lines(lines[i:end])))
            i = end
            continue
        if kinds[i] != "blank":
            s = lines[i].text
            span = _span(lines[i], 0, s)
            blocks.append(Paragraph(text=span.text, location=Location(start=span.start, end=span.end)))
        i += 1


def _kind(s: str) -> str:
    if not s:
        return "blank"
    if parse_cell(s).ok:
        return "value"
    if len(s) <= _MAX_LABEL and not s.endswith(_SENTENCE_END):
        return "label"
    return "prose"


def _cell_run_end(kinds: list[str], i: int) -> int:
    """End of a one-cell-per-line table starting at i, or i when none starts there.

    The run covers label, value and blank lines with enough values among them; it ends after the
    blanks that follow its last value, so a heading right after the table stays a paragraph.
    """
    if kinds[i] == "blank":
        return i
    j, last_value = i, -1
    values = 0
    while j < len(kinds) and kinds[j] != "prose":
        if kinds[j] == "value":
            values += 1
            last_value = j
        j += 1
    if values < _MIN_VALUES_IN_TABLE:
        return i
    end = last_value + 1
    while end < j and kinds[end] == "blank":
        end += 1
    return end


def _rows_from_cell_lines(lines: list[_Line]) -> list[list[_Span]]:
    acc = _Rows()
    for line in lines:
        s = line.stripped
        if _is_label(s):
            acc.end_row()
        acc.current.append(_span(line, 0, line.text))
    acc.end_row()
    return acc.rows


def _table(rows: list[list[_Span]]) -> Table:
    return Table(rows=[[span.cell(r, c) for c, span in enumerate(row)] for r, row in enumerate(rows)])


def _set_block_index(block: Paragraph | Table, index: int) -> None:
    block.location.block = index
    if isinstance(block, Table):
        block.location.start = block.rows[0][0].location.start
        block.location.end = block.rows[-1][-1].location.end
        for row in block.rows:
            for cell in row:
                cell.location.block = index
                cell.location.row = cell.row
                cell.location.col = cell.col
