"""Table rows out of text whose grid was lost, read by the template rather than by a known layout.

Text pasted out of Word or a web page, a reader tool's capture or a PDF-to-text dump keeps a table
only as a stream: labels and numbers in reading order with *something* between the cells (line
breaks, empty lines, tabs, bars, runs of spaces, any separator character). This module cuts that
stream into tokens and rebuilds rows; the reader (tables.TableReader) says how many cells the row a
label names holds, and the row's cells are taken under the first reading that gives that many:

1. `dense`: the printed numbers and blank marks alone (every cell printed something);
2. `separator`: blank cells that printed nothing are counted from the separators: the unit is the
   separator that explains most gaps as repeats of it (of the likeliest few, the one under which most
   rows get their template's number of cells), and a gap holding k units holds k - 1 empty cells
   ("\t\t", "|  |", one more empty line between one-cell lines);
3. `columns`: where empty cells vanished altogether (columns aligned with spaces), the numbers of a
   short row are placed under the columns that the table's complete rows occupy on the line, or that
   its header cells name.
(The reader places what none of these can by the table's identities: `tables._place_by_identities`.)

A token never depends on a layout name: separators are any run of whitespace or of separator
symbols, a label glued to its first number ("行政许可5") is cut before the number, and lines that are
page furniture (dropped by the loader) only end a gap.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from typing import Callable, Iterator

from service.document import Cell, Document, Location, Paragraph
from service.numbers import BLANK, NOT_A_VALUE, CellValue, fit_values, parse_cell
from service.textnorm import halfwidth, normalize_label

# Symbols that only ever separate cells; whitespace always does. What a label or a number prints
# (brackets, quotes, 、，：. - — / %) stays inside a token.
_SEPARATOR_SYMBOLS = "|｜¦┃│‖┆┊;；•●◆■□▪※#=*^~～"
_TOKEN = re.compile(rf"[^\s{re.escape(_SEPARATOR_SYMBOLS)}]+")
_RULE = re.compile(r"^[-:=—_]{3,}$")  # a Markdown or box-drawing rule under a header row
# A label glued to its first value: CJK text (or a closing bracket) then a number or a dash.
_GLUED = re.compile(r"^(.*[\u4e00-\u9fff）)”\"])([+-]?\d[\d,]*(?:\.\d+)?|[—\-–/]{1,2})$")
# What a number or a blank mark can start with (service.numbers.parse_cell): a cell opening with
# anything else is a label, and need not be parsed.
_MAY_BE_A_VALUE = re.compile(r"[\d０-９+\-－−.．—–―/／\\无空_×xX]")
_SPACES = re.compile(r"[^\S\t\n]+")  # horizontal whitespace but the tab: spaces, U+3000, U+00A0, \r
_SPACE_ONLY = re.compile(r"^[^\S\t\n]+$")
_PROSE_PUNCTUATION = re.compile(r"[。！!？?]|,(?!\d{3})")  # on half-width text, where ，is ,
_COLUMN_GAP = re.compile(r"^ {2,}$")  # columns aligned with spaces, as PDF-to-text tools print them
_CELL_GAP = re.compile(r"\S(?:\t|[ \u3000]{2,}|[|｜¦┃│‖])\S")
# A bracketed annotation, also one cut by a line break on either side.
_BRACKETED = re.compile(r"[（(][^（()）]*(?:[)）]|$)|^[^（()）]*[)）]")
_COUNTED = re.compile(r"\d\s+(?:件|条|个|项|次|人次|起|家|份|篇|期|场|笔|万元|元)(?:\s|$|[\u4e00-\u9fff])")
_MAX_LABEL = 60
# Rows framed by bars ("| a | b |") frame every line; rows that merely start with an empty merged
# cell or end with a blank one (" | a | 3 | ") leave the lines that open with a label unframed.
_FRAMED_SHARE = 0.9
_HEADER_REACH = 400  # tokens looked back for a table's header
_UNIT_CANDIDATES = 3


@dataclass
class Token:
    text: str  # as printed
    start: int  # span in Document.text
    end: int
    line: int  # index of the paragraph (line) it sits in
    value: CellValue
    line_text: str  # the printed line up to the token's end, for its display columns
    index: int = 0  # place in Stream.tokens

    @property
    def is_label(self) -> bool:
        return not self.value.ok

    @cached_property
    def x0(self) -> int:
        """Display columns from the line's start to the token (wide characters count 2); only text
        aligned in columns asks."""
        return _width(self.line_text[:len(self.line_text) - len(self.text)])

    @cached_property
    def x1(self) -> int:
        return self.x0 + _width(self.text)


@dataclass
class Segment:
    """Labels and the numbers printed after them, up to the next label."""

    labels: list[Token]
    values: list[Token]
    gaps: list[str]  # len(values) + 1: before the first value, between values, after the last


@dataclass
class Stream:
    """The tokens of a run of text lines and what separates cells in it."""

    tokens: list[Token]
    gaps: list[str]  # gaps[i] stands between tokens[i] and tokens[i + 1]; the last closes the run
    lines: list[str] = field(default_factory=list)  # each line as printed, separators and all
    unit: str = ""
    framed: bool = False  # rows of one line open and close with the unit ("| a | b |")
    aligned: bool = False  # laid out in columns with runs of spaces: a blank cell may leave no trace
    segments: list[Segment] = field(default_factory=list)

    @cached_property
    def by_line(self) -> dict[int, list[Token]]:
        lines: dict[int, list[Token]] = {}
        for token in self.tokens:
            lines.setdefault(token.line, []).append(token)
        return lines

    def empties(self, gap: str, leading: bool = False) -> int:
        """Empty cells in a gap: a gap holding k separator units holds k - 1 of them. Where a row is
        one line, a line break is one more unit, the bars framing the two lines are none, and
        `leading` counts only the cells before the first value on its own line."""
        norm = self.normal(gap)
        if "\n" in self.unit or "\n" not in norm:
            return max(0, norm.count(self.unit) - 1)
        before, after = norm[:norm.find("\n")], norm[norm.rfind("\n") + 1:]
        if self.framed:
            before, after = before.removesuffix(self.unit), after.removeprefix(self.unit)
        if leading:
            return after.count(self.unit)
        return before.count(self.unit) + after.count(self.unit)

    def normal(self, gap: str) -> str:
        """Spaces beside another separator are padding; a run of spaces, of any width, is one
        separator (a blank cell between spaces leaves no trace but the columns), the ideographic
        space one of its own."""
        if not _SPACE_ONLY.match(gap):
            return _SPACES.sub("", gap) or " "
        return "\u3000" if gap.strip("\u3000") == "" else " "


def opens_note(text: str, in_note: bool) -> bool:
    """Whether a bracketed note is still open at the end of the line."""
    depth = int(in_note)
    for ch in halfwidth(text):
        depth = depth + 1 if ch == "(" else max(0, depth - 1) if ch == ")" else depth
    return depth > 0


def is_stream_line(text: str, in_note: bool = False) -> bool:
    """A line that may hold table cells, not a line of prose: prose runs its clauses together with
    commas and full stops (outside the brackets a label's annotation may print) and counts with a
    measure word after the number ("行政复议 1 件")."""
    stripped = halfwidth(text.strip())
    if not stripped:
        return False
    if _CELL_GAP.search(stripped):
        return True  # cells apart on one line
    if in_note:  # a bracketed note wrapped over lines, as a header cell prints it
        stripped = stripped[stripped.find(")") + 1:] if ")" in stripped else ""
    if _PROSE_PUNCTUATION.search(_BRACKETED.sub("", stripped)) or _COUNTED.search(stripped):
        return False
    return len(_TOKEN.findall(stripped)) > 1 or len(stripped) <= _MAX_LABEL


def stream(document: Document, lines: list[Paragraph], end: int,
           expected: Callable[[list[Token]], int | None] = lambda labels: None) -> Stream:
    """The tokens of `lines` (consecutive text lines); `end` is where the next block begins, so that
    empty cells after the last token still count. `expected` says how many cells the row that some
    labels name holds: of the separators that could be the unit, the one under which most rows get
    as many cells as the template gives them is taken."""
    tokens: list[Token] = []
    for index, paragraph in enumerate(lines):
        tokens += _tokens(document.text, paragraph, index)
    for index, token in enumerate(tokens):
        token.index = index
    gaps = [_gap(document.text, a, b) for a, b in zip(tokens, tokens[1:])]
    for a, b, gap in zip(tokens, tokens[1:], gaps):
        if a.text == "无" and b.is_label and a.line == b.line and _SPACE_ONLY.match(gap):
            a.value = NOT_A_VALUE  # the first character of a spaced-out label ("无 法提供"), not a blank cell
    tail = _without_furniture(document.text[tokens[-1].end:end]) if tokens else ""
    base = Stream(tokens, gaps, lines=[_raw_line(document.text, p) for p in lines])
    _learn_layout(base)
    units = _units(base)
    if len(units) == 1:
        return _read_with(base, units[0], tail)
    known: dict[tuple[int, ...], int | None] = {}  # a run of labels read alike under every unit

    def cells(labels: list[Token]) -> int | None:
        key = tuple(t.index for t in labels[-1:])
        if key not in known:
            known[key] = expected(labels)
        return known[key]

    best, best_fits = None, -1
    for unit in units:
        reading = _read_with(base, unit, tail)
        rows = [_fits(reading, seg, n) for seg in reading.segments if (n := cells(seg.labels)) is not None]
        if sum(rows) > best_fits:
            best, best_fits = reading, sum(rows)
        if best_fits == len(rows):
            break  # every row the template names has its cells: no other unit can do better
    assert best is not None  # _units names at least one unit
    return best


def _read_with(base: Stream, unit: str, tail: str) -> Stream:
    """The stream cut into segments with `unit` as the separator."""
    s = replace(base, unit=unit, gaps=list(base.gaps))
    if "\n" not in unit and unit.strip():
        lines = [line.strip() for line in s.lines if unit in line]
        framed = sum(line.startswith(unit) and line.endswith(unit) for line in lines)
        s.framed = framed >= _FRAMED_SHARE * len(lines) > 0
    if s.tokens:  # closed as if one more cell followed, with the mark a cell's line starts with ("\t")
        s.gaps.append(tail + "\n" + (unit[unit.rfind("\n") + 1:] if "\n" in unit else ""))
    s.segments = list(_segments(s))
    return s


def _fits(s: Stream, segment: Segment, n: int) -> bool:
    return len(segment.values) == n or fit_values(_separated(s, segment, _sketch), n) is not None


def _sketch(at: int, token: Token | None = None) -> tuple[None, CellValue]:
    """A cell's value without the cell, for counting."""
    return None, token.value if token else BLANK


def _raw_line(text: str, paragraph: Paragraph) -> str:
    start = text.rfind("\n", 0, paragraph.location.start) + 1
    end = text.find("\n", paragraph.location.end)
    return text[start:end if end >= 0 else len(text)]


def _width(text: str) -> int:
    """Display columns: wide and full-width characters take two."""
    return len(text) + len(_wide().findall(text))


@cache  # compiling the ranges costs milliseconds, and only text aligned in columns needs them
def _wide() -> re.Pattern:
    """Wide and full-width characters as reports print them (Hangul, CJK, kana, full-width forms);
    the few emoji that East Asian width also calls wide are left at one column."""
    ranges = ((0x1100, 0x115F), (0x2E80, 0x303E), (0x3041, 0x33FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
              (0xA000, 0xA4CF), (0xAC00, 0xD7A3), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFF60),
              (0xFFE0, 0xFFE6))
    return re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in ranges) + "]")


def _tokens(text: str, paragraph: Paragraph, line: int) -> list[Token]:
    start = paragraph.location.start
    assert start is not None  # the builder places every paragraph
    line_start = text.rfind("\n", 0, start) + 1
    printed = paragraph.text
    out = []
    for match in _TOKEN.finditer(halfwidth(printed)):  # folding keeps one character for one
        if _RULE.match(match.group(0)):
            continue
        for at, piece in _unglue(match.start(), printed[match.start():match.end()], match.group(0)):
            begin = start + at
            value = parse_cell(piece) if _MAY_BE_A_VALUE.match(piece) else NOT_A_VALUE
            out.append(Token(piece, begin, begin + len(piece), line, value, text[line_start:begin + len(piece)]))
    return out


def _unglue(offset: int, printed: str, folded: str) -> list[tuple[int, str]]:
    """A label glued to its first value ("行政许可5") as two tokens."""
    match = _GLUED.match(folded)
    if not match or parse_cell(folded).ok:
        return [(offset, printed)]
    cut = match.start(2)
    return [(offset, printed[:cut]), (offset + cut, printed[cut:])]


def _gap(text: str, a: Token, b: Token) -> str:
    """What stands between two tokens, without the lines the loader dropped (page furniture)."""
    return _without_furniture(text[a.end:b.start])


def _without_furniture(gap: str) -> str:
    if not _TOKEN.search(halfwidth(gap)):
        return gap
    return "".join(line for line in gap.splitlines(keepends=True) if not _TOKEN.search(halfwidth(line)))


def _learn_layout(s: Stream) -> None:
    """Whether text is aligned in columns: runs of spaces beside the numbers of a row."""
    in_rows = Counter(bool(_COLUMN_GAP.match(g)) for a, b, g in zip(s.tokens, s.tokens[1:], s.gaps)
                      if a.line == b.line and not (a.is_label and b.is_label))
    s.aligned = bool(in_rows) and in_rows.most_common(1)[0][0]


def _units(s: Stream) -> list[str]:
    """The separators that could be the unit, likeliest first: those that explain most gaps as one
    or more of them; gaps on a line where a row's cells share lines (tabs, bars, spaces: most
    numbers stand on the line of what precedes them), across lines where every cell has its own
    ("\n", "\n\n", "\n\t", "|\n"); of two that explain as many, the longer ("\n\n" over "\n"
    where an empty line parts the cells)."""
    # Spaces between two labels are as often inside one label ("本年 新收") as between two.
    pairs = [(a, b, s.normal(g)) for a, b, g in zip(s.tokens, s.tokens[1:], s.gaps)
             if not (a.is_label and b.is_label and _SPACE_ONLY.match(g))]
    into = [a.line == b.line for a, b, _ in pairs if not b.is_label]
    rows_on_lines = sum(into) * 2 > len(into)
    gaps = [g for a, b, g in pairs if (a.line == b.line) == rows_on_lines]
    if not gaps:
        return ["\n"]
    explained = lambda unit: sum(g == unit * (len(g) // len(unit)) for g in gaps)
    ranked = sorted({*gaps, *map(_root, gaps)}, key=lambda unit: (explained(unit), len(unit)), reverse=True)
    return ranked[:_UNIT_CANDIDATES]


def _root(gap: str) -> str:
    """The shortest piece the gap repeats ("\t" of "\t\t\t")."""
    return next(gap[:n] for n in range(1, len(gap) + 1) if gap == gap[:n] * (len(gap) // n))


def _segments(s: Stream) -> Iterator[Segment]:
    i, n = 0, len(s.tokens)
    while i < n:
        labels = []
        while i < n and s.tokens[i].is_label:
            labels.append(s.tokens[i])
            i += 1
            if i < n and s.tokens[i].is_label and s.empties(s.gaps[i - 1]):
                break  # empty cells after a label: a row whose every cell is blank
        first = i
        values = []
        while i < n and not s.tokens[i].is_label:
            values.append(s.tokens[i])
            i += 1
        before = s.gaps[first - 1] if labels and first > 0 else ""
        gaps = [before] + [s.gaps[k] for k in range(first, i)]
        if not values and labels:
            gaps = [s.gaps[i - 1]]
        yield Segment(labels, values, gaps)


# ------------------------------------------------------------------------------------------- rows
@dataclass
class Reading:
    values: list[tuple[Cell, CellValue]]
    how: str  # dense, separator or columns (Provenance.grid)


def _cell(token: Token) -> tuple[Cell, CellValue]:
    return _built_cell(token.text, token.start, token.end), token.value


def _empty(at: int) -> tuple[Cell, CellValue]:
    return _built_cell("", at, at), BLANK


def _built_cell(text: str, start: int, end: int) -> Cell:
    return Cell(text=text, row=0, col=0, location=Location(start=start, end=end))


def label_cell(tokens: list[Token]) -> Cell:
    """One label printed as several tokens (wrapped over lines, or spaced out)."""
    return _built_cell("".join(t.text for t in tokens), tokens[0].start, tokens[-1].end)


def read_values(s: Stream, segment: Segment, columns: list[tuple[str, ...]] | None,
                blank_row: bool = False) -> Reading:
    """The row's cells under the first reading that gives as many as `columns` (each column's
    normalised names) holds."""
    dense = [_cell(t) for t in segment.values]
    if not dense and not blank_row:
        return Reading([], "dense")
    if columns is None or len(dense) == len(columns):
        return Reading(dense, "dense")
    n = len(columns)
    if (fitted := fit_values(_separated(s, segment), n)) is not None:
        return Reading(fitted, "separator")
    if len(dense) < n and s.aligned and (placed := _by_columns(s, segment, columns, blank_row)) is not None:
        return Reading(placed, "columns")
    return Reading(dense, "dense")


def _separated(s: Stream, segment: Segment, make=None) -> list[tuple[Cell, CellValue]]:
    """Values with the empty cells the separators count between them (`make(at, token)` builds a
    cell, by default a real one)."""
    make = make or (lambda at, token=None: _cell(token) if token else _empty(at))
    out: list = []
    at = segment.labels[-1].end if segment.labels else 0
    for k, gap in enumerate(segment.gaps):
        if k or segment.labels:
            out += [make(at)] * s.empties(gap, leading=k == 0 and bool(segment.values))
        if k < len(segment.values):
            out.append(make(at, segment.values[k]))
            at = segment.values[k].end
    return out


def _by_columns(s: Stream, segment: Segment, columns: list[tuple[str, ...]],
                blank_row: bool) -> list[tuple[Cell, CellValue]] | None:
    """Numbers of a short row placed under the columns they stand in (text aligned with spaces);
    a row label alone is a row of blank cells where the columns are known."""
    n = len(columns)
    extents = _complete_rows(s, n) or _header(s, segment, columns)
    if extents is None or len({t.line for t in segment.values}) > 1 or not (segment.values or blank_row):
        return None
    placed: dict[int, Token] = {}
    for token in segment.values:
        centre = (token.x0 + token.x1) / 2
        best = min(range(n), key=lambda j: abs(centre - sum(extents[j]) / 2))
        if best in placed or (placed and best < max(placed)):
            return None
        placed[best] = token
    at = segment.values[0].start if segment.values else segment.labels[-1].end
    return [_cell(placed[j]) if j in placed else _empty(at) for j in range(n)]


def _complete_rows(s: Stream, n: int) -> list[tuple[int, int]] | None:
    """Each column's extent over the rows that print all n of their cells on one line."""
    rows = [seg.values for seg in s.segments if len(seg.values) == n and len({t.line for t in seg.values}) == 1]
    if not rows:
        return None
    return [(min(r[j].x0 for r in rows), max(r[j].x1 for r in rows)) for j in range(n)]


def _header(s: Stream, segment: Segment, columns: list[tuple[str, ...]]) -> list[tuple[int, int]] | None:
    """Each column's extent from the nearest header cells above that name the columns, left to
    right; a header cell wrapped inside its column names it by its first line ("商业企" / "业"),
    one spaced out by its pieces one space apart ("自 然 人")."""
    need = Counter(columns)
    found: list[tuple[int, int, tuple[str, ...]]] = []
    first = segment.values[0].index if segment.values else segment.labels[0].index
    data_lines = {t.line for t in s.tokens if not t.is_label}  # a row label such as 3.其他 is no header
    above = [t for t in s.tokens[max(0, first - _HEADER_REACH):first] if t.line not in data_lines]
    for cell in reversed(_spaced_cells(s, above)):
        while cell and +need:  # the longest run of pieces at the cell's end that names a column
            named = next(((start, k) for start in range(len(cell)) if (k := _names(cell[start:], need))), None)
            if named is None:
                cell = cell[:-1]
                continue
            start, key = named
            need[key] -= 1
            found.append((cell[start].x0, cell[-1].x1, key))
            cell = cell[:start]
        if not +need:
            break
    found.sort()
    if +need or [key for _, _, key in found] != columns:
        return None
    return [(x0, x1) for x0, x1, _ in found]


def _names(pieces: list[Token], need: Counter) -> tuple[str, ...] | None:
    """The one column still needed that the pieces name, or its first line does."""
    printed = normalize_label("".join(t.text for t in pieces))
    named = {names for names in need if need[names] > 0 and
             any(n == printed or (len(printed) > 1 and n.startswith(printed)) for n in names)}
    return named.pop() if len(named) == 1 else None


def _spaced_cells(s: Stream, tokens: list[Token]) -> list[list[Token]]:
    """Tokens joined where one space parts them on a line."""
    cells: list[list[Token]] = []
    for token in tokens:
        if cells and cells[-1][-1].index == token.index - 1 and cells[-1][-1].line == token.line \
                and s.gaps[token.index - 1] == " ":
            cells[-1].append(token)
        else:
            cells.append([token])
    return cells


def cells_of(s: Stream, labels: list[Token], part_of_a_label: Callable[[list[Token]], bool]) -> list[list[Token]]:
    """Label tokens grouped into cells: pieces parted by spaces are one cell where cells are parted
    by something else ("2.其他 法律行政法规禁止 公开" between tabs, or ASCII spaces between runs of
    U+3000); in text aligned with spaces, pieces one space apart on a line, unless each is (part
    of) a label and together they are none (two columns one space apart: "本年度办理结果 合计")."""
    cells: list[list[Token]] = []
    for token in labels:
        gap = s.gaps[token.index - 1] if cells else ""
        if not cells:
            same = False
        elif s.aligned:
            same = cells[-1][-1].line == token.line and gap == " " and (
                part_of_a_label(cells[-1] + [token]) or not (part_of_a_label(cells[-1]) and part_of_a_label([token])))
        else:
            same = bool(_SPACE_ONLY.match(gap)) and s.normal(gap) != s.unit
        if same:
            cells[-1].append(token)
        else:
            cells.append([token])
    return cells


def by_column(cells: list[list[Token]]) -> list[list[Token]]:
    """Cells column by column, left to right, each column top down; cells starting within one
    display column of each other share a column."""
    ordered = sorted(cells, key=lambda cell: cell[0].x0)
    column, last, keyed = 0, None, []
    for cell in ordered:
        if last is not None and cell[0].x0 - last > 1:
            column += 1
        last = cell[0].x0
        keyed.append((column, cell[0].line, cell))
    return [cell for _, _, cell in sorted(keyed, key=lambda k: (k[0], k[1]))]


def below(upper: list[Token], lower: list[Token]) -> bool:
    """`lower` starts on the line after `upper` ends, in the same column."""
    return lower[0].line == upper[-1].line + 1 and abs(lower[0].x0 - upper[0].x0) <= 1


def line_mates(s: Stream, tokens: list[Token]) -> list[Token]:
    """The other tokens printed on the lines of `tokens`."""
    own = {t.index for t in tokens}
    return [t for line in sorted({t.line for t in tokens}) for t in s.by_line[line] if t.index not in own]
