"""Reading tables 2, 3 and 4 into template fields by their printed labels.

All table rows of the document are read in order, whatever table they sit in, so a table split
across pages, merged with its neighbour, or interrupted by a repeated header reads the same.
Which table a row belongs to comes from the section headings and from the row's own label.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from rapidfuzz.distance import Hamming

from service.document import Cell, Document, Paragraph
from service.extract import stream
from service.extract.sections import heading_of
from service.ingest.furniture import is_page_number
from service.numbers import BLANK, UNREAD, CellValue, fit_values, parse_cell
from service.registry import TABLES, Label, Registry, Template, labels, registry
from service.report import FieldValue, Provenance, UnplacedRow
from service.textnorm import normalize_label

_SECTION_TABLE = {"proactive": "t2", "requests": "t3", "review_litigation": "t4"}
_SURE = 0.85  # a label match at least this good may move the reader into another table
_FALLBACK_CONFIDENCE = 0.6  # a row placed by its position between two recognised rows
_DIGIT = re.compile(r"[0-9０-９]")
_CJK = re.compile(r"[\u4e00-\u9fff]")  # words, as a row label prints them
_MAX_LABEL_PIECES = 8  # a label wrapped over at most this many lines or spaced-out pieces


@dataclass
class _Row:
    labels: list[Cell]
    values: list[tuple[Cell, CellValue]]
    grid: str | None = None  # how a row of text without a grid was rebuilt (stream.Reading.how)

    @property
    def label(self) -> str:
        return self.labels[-1].text if self.labels else ""

    @property
    def label_text(self) -> str:
        return " ".join(c.text for c in self.labels)


def _split(cells: list[Cell]) -> _Row:
    """Label cells are the texts before the numbers; values are every cell after the last label.
    In a page image, a cell OCR left empty though it holds ink, or read as marks that are neither
    a number nor words after a number (labels come first in every row of the template), is a
    value that could not be read."""
    parsed = [parse_cell(c.text) for c in cells]
    numbers = [p.ok and not p.blank for p in parsed]
    parsed = [UNREAD if _unread(c, p, any(numbers[:i])) else p for i, (c, p) in enumerate(zip(cells, parsed))]
    last_label = max((i for i, p in enumerate(parsed) if not p.ok), default=-1)
    row_labels = [c for c, p in zip(cells[: last_label + 1], parsed) if not p.ok]
    return _Row(row_labels, list(zip(cells[last_label + 1:], parsed[last_label + 1:])))


def _unread(cell: Cell, parsed: CellValue, after_a_number: bool) -> bool:
    reading = cell.location.ocr
    garbled = after_a_number and not parsed.ok and not _CJK.search(cell.text)
    return reading is not None and (reading.unread or garbled)


@dataclass
class TableReader:
    template: Template
    reg: Registry = field(default_factory=registry)
    fields: dict[str, FieldValue] = field(default_factory=dict)
    unplaced: list[UnplacedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    context: str | None = None
    t3_group: str | None = None
    t3_rows: list[tuple[_Row, str | None]] = field(default_factory=list)
    t4_values: list[tuple[Cell, CellValue]] = field(default_factory=list)
    t4_blank_rows: list = field(default_factory=list)
    t3_short: list = field(default_factory=list)  # (row, found, score): fewer numbers than columns
    grids: dict[int, str] = field(default_factory=dict)  # id(cell) → how its text row was rebuilt
    matched: dict[str, dict] = field(default_factory=dict)  # label → {table: (row, score)}

    def __post_init__(self) -> None:
        self.t3_by_key = {row.key: row for row in self.template.table3_rows}
        self.t4_labels = [*self.reg.table4_groups, *self.reg.table4_outcomes]
        columns = [*self.reg.table3_columns, *self.reg.table4_outcomes,
                   *(c for row in self.template.table2_rows for c in row.columns)]
        self.column_names = {name for column in columns for name in column.names}
        rows = [*self.template.table2_rows, *self.template.table3_rows, *self.template.table3_groups, *self.t4_labels]
        self.row_names = "\n".join(name for row in rows for name in row.names)  # what a label may be part of
        self.names_by_length: dict[int, list[str]] = {}
        for name in dict.fromkeys(name for row in rows for name in row.names):
            self.names_by_length.setdefault(len(name), []).append(name)

    # ------------------------------------------------------------------ walking
    def read(self, document: Document) -> None:
        lines: list[Paragraph] = []  # a run of text lines that may hold table cells
        in_note = False
        for block in document.blocks:
            if isinstance(block, Paragraph) and is_page_number(block.text):
                continue  # page furniture between the rows of a table
            if isinstance(block, Paragraph) and heading_of(block.text) is None \
                    and stream.is_stream_line(block.text, in_note):
                lines.append(block)
                in_note = stream.opens_note(block.text, in_note)
                continue
            in_note = False
            self._stream(document, lines, block.location.start)
            lines = []
            if isinstance(block, Paragraph):
                self._heading(block.text)
            else:
                for cells in block.rows:
                    self._row(_split(cells))
        self._stream(document, lines, len(document.text))
        self._finish_t3()
        self._finish_t4()

    def _stream(self, document: Document, lines: list[Paragraph], end: int | None) -> None:
        """Rows rebuilt from text that lost its grid, each taking as many cells as its label asks;
        `end` is where the block after these lines begins."""
        if not lines or (self.context is None and not any(_DIGIT.search(p.text) for p in lines)):
            return  # before any table, lines without a number (a page's navigation) hold no row
        if end is None:
            end = lines[-1].location.end
            assert end is not None  # the builder places every paragraph
        s = stream.stream(document, lines, end, self._cells_expected)
        carried: list = []  # the start of a run of labels that finished the row above
        for segment, after in zip(s.segments, [*s.segments[1:], None]):
            header: list = []
            taken = {t.index for t in carried}
            groups = self._label_groups(s, [t for t in segment.labels if t.index not in taken], segment.values)
            carried = []
            if groups and segment.values and after and s.aligned:  # labels wrap below numbers only there
                carried = self._continuation(groups[-1], after.labels)
                groups[-1] = groups[-1] + carried
            for group in groups[:-1]:
                if not self._stream_row(s, stream.Segment(group, [], [""]), header):
                    header += group
            if not self._stream_row(s, stream.Segment(groups[-1] if groups else [], segment.values, segment.gaps),
                                    header):
                header += groups[-1] if groups else []
            if header:
                self._row(_Row([stream.label_cell([t]) for t in header], []))

    def _cells_expected(self, tokens: list) -> int | None:
        """How many cells the row named by the last of these labels holds, if it names one."""
        columns = self._expected(tokens[-1].text, 0) if tokens and self._row_score(tokens[-1:]) >= _SURE else None
        return len(columns) if columns else None

    def _stream_row(self, s: stream.Stream, segment: stream.Segment, header: list) -> bool:
        """Read one row of the stream (the header labels before it first); False for a row of labels
        only, which belongs to the header."""
        label = segment.labels
        maybe_blank = bool(label) and (s.aligned or any(map(s.empties, segment.gaps)))
        if not segment.values and not maybe_blank:
            return False
        text = "".join(t.text for t in label)
        columns = self._expected(text, len(segment.values))
        blank_row = not segment.values and self._blank_row_allowed(text, stream.line_mates(s, label))
        reading = stream.read_values(s, segment, [c.names for c in columns] if columns else None, blank_row)
        if not reading.values:
            return False
        if header:
            self._row(_Row([stream.label_cell([t]) for t in header], []))
            header.clear()
        row = _Row([stream.label_cell(label)] if label else [], reading.values, reading.how)
        if self._claims(text) or self.context:  # numbers in no table's place are prose's
            self._row(row)
        return True

    def _label_groups(self, s: stream.Stream, tokens: list, values: list) -> list[list]:
        """A run of labels cut into the labels it holds: a piece joins the label before it while the
        joined text is still part of some row's name (a label wrapped over lines or spaced out); a
        piece that would add other words (a header cell, the tail of the row above) starts the next.
        Pieces parted by spaces only, where cells are parted by something else, are one cell. In text
        aligned with spaces a label wraps inside its column, so pieces join only the one above them
        in their own column."""
        cells = stream.cells_of(s, tokens, self._part_of_a_row)
        if s.aligned:
            cells = stream.by_column(cells)
        groups: list[list] = []
        for cell in cells:
            if groups and len(groups[-1]) + len(cell) <= _MAX_LABEL_PIECES and self._part_of_a_row(groups[-1] + cell) \
                    and (not s.aligned or stream.below(groups[-1], cell)):
                groups[-1] += cell
            else:
                groups.append(list(cell))
        if s.aligned:  # the row's own label: the rightmost label on its numbers' line
            beside = [g for g in groups if values and any(t.line == values[0].line for t in g)]
            own = max(beside, key=lambda g: g[0].x0) if beside else None
            groups = sorted((g for g in groups if g is not own), key=lambda g: (g[0].line, g[0].x0)) + ([own] if own else [])
        return groups

    def _continuation(self, label: list, following: list) -> list:
        """The labels after a row's numbers that finish its own label (text aligned in columns
        wraps a label below the line its numbers stand on): the longest run that is still part of
        a row's name and names a row better than the label alone."""
        best, best_score = [], self._row_score(label)
        following = [t for t in following if t.x0 >= label[0].x0 - 1]  # its own column, not the cell left of it
        for end in range(1, min(len(following), _MAX_LABEL_PIECES) + 1):
            if not self._part_of_a_row(label + following[:end]):
                break
            if (score := self._row_score(label + following[:end])) > best_score:
                best, best_score = following[:end], score
        return best

    def _matches(self, text: str) -> dict:
        """The row of each table a printed label fits best, with how well (remembered per label:
        a text report asks about most labels several times)."""
        if text not in self.matched:
            self.matched[text] = {table: labels.match(text, rows) for table, rows in
                                  (("t2", self.template.table2_rows), ("t3", self.template.table3_rows),
                                   ("t4", self.t4_labels), ("t3 groups", self.template.table3_groups))}
        return self.matched[text]

    def _row_score(self, tokens: list) -> float:
        found = self._matches("".join(t.text for t in tokens))
        return max(found[table][1] for table in TABLES)

    def _part_of_a_row(self, tokens: list) -> bool:
        """The pieces joined are (the start of) one label: part of a row's name once any bracketed
        note is taken out, or a note still open at the line break."""
        text = "".join(t.text for t in tokens[:-1])
        if text.count("（") + text.count("(") > text.count("）") + text.count(")"):
            return True
        joined = normalize_label(labels.without_annotations(text + tokens[-1].text))
        return bool(joined) and "\n" not in joined and joined in self.row_names

    def _expected(self, label: str, values: int) -> list[Label] | None:
        """The columns of the row that `label` names, as the template prints them."""
        table = self._claims(label) or self.context
        if table == "t3":
            return list(self.reg.table3_columns)
        if table == "t2" and label:
            found, _ = self._matches(label)["t2"]
            return list(found.columns) if found else None
        if table == "t4":
            groups, outcomes = self.reg.table4_groups, self.reg.table4_outcomes
            found, _ = self._matches(label)["t4"] if label else (None, 0.0)
            if found in groups:
                return list(outcomes)
            if found in outcomes and values <= len(groups):
                return list(groups)
            return [outcome for _ in groups for outcome in outcomes]
        return None

    def _blank_row_allowed(self, text: str, mates: list) -> bool:
        """A data row of table 2 or 3 whose every cell is blank: its label names a row, and neither
        it nor a cell beside it names a column (a header row's last cell, 总计, is followed by the
        empty cells of merged headers too)."""
        if any(normalize_label(t) in self.column_names for t in [text, *(m.text for m in mates)]):
            return False
        found, score = self._matches(text)["t3" if self.context == "t3" else "t2"]
        return found is not None and score >= _SURE

    def _heading(self, text: str) -> bool:
        section = heading_of(text)
        if section is None:
            return False
        self._enter(_SECTION_TABLE.get(section.key))
        return True

    def _enter(self, table: str | None) -> None:
        if table != self.context:
            self.context = table
            self.t3_group = None

    def _row(self, row: _Row) -> None:
        row.labels = [self._likeliest_label(cell) for cell in row.labels]
        if row.grid:
            self.grids.update((id(cell), row.grid) for cell, _ in row.values)
        if not row.values:
            if row.labels and not self._heading(row.label_text):
                self._header(row)
            return
        if not row.labels and self.context != "t4" and all(v.blank for _, v in row.values):
            return  # padding
        table = self._claims(row.label) or self.context
        self._enter(table)
        if table == "t2":
            self._t2(row)
        elif table == "t3":
            self._t3(row)
        elif table == "t4":
            self._t4(row)
        else:
            self._unplace(row, None, "表格位置不明")

    def _likeliest_label(self, cell: Cell) -> Cell:
        """A label of a page image as the recogniser read it, or as it nearly read it when that
        names a template row better (予以公开 read as 子以公开, its runner-up 予 one character away)."""
        reading = cell.location.ocr
        if reading is None or not reading.alternatives:
            return cell
        fit = lambda text: max(score for _, score in self._matches(text).values())
        best = max([cell.text, *reading.alternatives], key=fit)  # the first reading wins a tie
        if not fit(best):
            best = self._one_character_off(cell.text) or best
        return cell if best == cell.text else cell.model_copy(update={"text": best})

    def _one_character_off(self, text: str) -> str | None:
        """The one template name a page image's label differs from in a single character, the
        recogniser's usual slip when no runner-up restores it (行政处罚 read as 行政处界)."""
        printed = normalize_label(text)
        if len(printed) < 4:
            return None  # a short label one character off fits too many names
        near = [name for name in self.names_by_length.get(len(printed), ()) if Hamming.distance(printed, name) == 1]
        return near[0] if len(near) == 1 else None

    def _header(self, row: _Row) -> None:
        """A row of labels only: table anchors and table 3 group headings."""
        printed = normalize_label(row.label_text)
        if any(anchor in printed for anchor in self.reg.table3_anchors):
            self._enter("t3")
        else:
            hits = sum(anchor in printed for anchor in self.reg.table4_anchors)
            if hits >= 2 or (hits and self.context is None):
                self._enter("t4")
        if self.context == "t3":
            self._t3_groups(row)

    def _claims(self, label: str) -> str | None:
        """The table a row's own label names beyond doubt, if any."""
        if not label:
            return None
        for table in TABLES:
            found, score = self._matches(label)[table]
            if found and score >= _SURE and (table == "t2" or len(normalize_label(found.label)) >= 4):
                return table
        return None

    # ------------------------------------------------------------------ table 2
    def _t2(self, row: _Row) -> None:
        found, score = self._matches(row.label)["t2"]
        if found is None:
            return self._unplace(row, "t2", "表二行名未能识别")
        values = fit_values(row.values, len(found.columns))
        if values is None:
            return self._unplace(row, "t2", f"表二“{found.label}”应有 {len(found.columns)} 个数值")
        for column, (cell, value) in zip(found.columns, values):
            self._put(f"t2.{found.key}.{column.key}", cell, value, row.label, score)

    # ------------------------------------------------------------------ table 3
    def _t3_groups(self, row: _Row) -> None:
        for cell in row.labels:
            group, score = self._matches(cell.text)["t3 groups"]
            if group and score >= _SURE:
                self.t3_group = group.key

    def _t3(self, row: _Row) -> None:
        self._t3_groups(row)
        columns = self.reg.table3_columns
        values = fit_values(row.values, len(columns))
        if values is None:
            if len(row.values) < len(columns) and (named := self._t3_row(row.label))[0]:
                self.t3_short.append((row, *named))  # blank cells that left no trace: placed at the end
            return self._unplace(row, "t3", f"表三应有 {len(columns)} 列数值，此行有 {len(row.values)} 个")
        found, score = self._t3_row(row.label)
        self.t3_rows.append((row, found.key if found else None))
        if found is None:
            return
        self.t3_group = found.group if found.group != "results" else self.t3_group
        for column, (cell, value) in zip(columns, values):
            self._put(f"t3.{found.key}.{column.key}", cell, value, row.label, score)

    def _t3_row(self, printed: str):
        rows = self.template.table3_rows
        if self.t3_group:
            in_group = [r for r in rows if r.group == self.t3_group]
            found, score = labels.match(printed, in_group)
            if found:
                return found, score
        found, score = self._matches(printed)["t3"]
        # A bare "其他" belongs to a group and is only trusted inside one.
        if found and found.group not in (None, "results") and self.t3_group != found.group \
                and len(normalize_label(printed)) < 4:
            return None, 0.0
        return found, score

    def _finish_t3(self) -> None:
        self._place_by_position()
        self._place_by_identities()

    def _place_by_identities(self) -> None:
        """Rows of table 3 that print fewer numbers than it has columns, with nothing to show where
        the blank cells were: their numbers go, in order, under the columns for which the most of
        the table's identities hold with the rows already read; only a single best placement is
        taken, and its cells say so in provenance ("identities")."""
        for row, found, _score in self.t3_short:
            keys = [f"t3.{found.key}.{column.key}" for column in self.reg.table3_columns]
            if any(key in self.fields for key in keys):
                continue
            ranked = sorted(((self._identities_held(dict(zip(chosen, row.values)), keys), chosen)
                             for chosen in itertools.combinations(keys, len(row.values))), reverse=True)
            if not ranked or not ranked[0][0] or (len(ranked) > 1 and ranked[1][0] == ranked[0][0]):
                continue
            placed = dict(zip(ranked[0][1], row.values))
            for key in keys:
                cell, value = placed.get(key) or (Cell(text="", row=0, col=0, location=row.values[0][0].location), BLANK)
                self.grids[id(cell)] = "identities"
                self._put(key, cell, value, row.label, _FALLBACK_CONFIDENCE)
            self.unplaced = [u for u in self.unplaced if u.location != (row.labels[0] if row.labels else row.values[0][0]).location]

    def _identities_held(self, placed: dict, row_keys: list[str]) -> int:
        """How many identities over the row's cells hold (its other cells blank, 0), among those
        whose cells outside the row are all read."""
        def value(key: str):
            if key in row_keys:
                return (placed[key][1].value or 0) if key in placed else 0
            return self.fields[key].value or 0

        held = 0
        for identity in self.template.identities:
            keys = (*identity.lhs, *identity.rhs)
            if any(k in row_keys for k in keys) and all(k in row_keys or k in self.fields for k in keys):
                held += sum(map(value, identity.lhs)) == sum(map(value, identity.rhs))
        return held

    def _place_by_position(self) -> None:
        """Place unrecognised table 3 rows by position when the gap they sit in fits exactly."""
        order = [r.key for r in self.template.table3_rows]
        filled = {key for _, key in self.t3_rows if key}
        anchors = [(-1, None)] + [(i, key) for i, (_, key) in enumerate(self.t3_rows) if key] + [(len(self.t3_rows), None)]
        for (i, before), (j, after) in zip(anchors, anchors[1:]):
            orphans = [self.t3_rows[k][0] for k in range(i + 1, j)]
            if not orphans:
                continue
            lo = order.index(before) + 1 if before else 0
            hi = order.index(after) if after else len(order)
            gap = [key for key in order[lo:hi] if key not in filled]
            if len(gap) != len(orphans):
                for row in orphans:
                    self._unplace(row, "t3", "表三行名未能识别")
                continue
            for row, key in zip(orphans, gap):
                values = fit_values(row.values, len(self.reg.table3_columns))
                assert values is not None  # _t3 keeps in t3_rows only rows whose values fit
                for column, (cell, value) in zip(self.reg.table3_columns, values):
                    self._put(f"t3.{key}.{column.key}", cell, value, row.label, _FALLBACK_CONFIDENCE)

    # ------------------------------------------------------------------ table 4
    def _t4(self, row: _Row) -> None:
        found, score = self._matches(row.label)["t4"] if row.label else (None, 0.0)
        groups, outcomes = self.reg.table4_groups, self.reg.table4_outcomes
        if found in groups and (values := fit_values(row.values, len(outcomes))):
            cells = [(f"t4.{found.key}.{o.key}", cell, value) for o, (cell, value) in zip(outcomes, values)]
        elif found in outcomes and (values := fit_values(row.values, len(groups))):
            cells = [(f"t4.{g.key}.{found.key}", cell, value) for g, (cell, value) in zip(groups, values)]
        else:
            self.t4_values.extend(row.values)
            return
        if all(value.blank for _, _, value in cells):
            # Blank cells under a header label are often the padding of merged header cells:
            # they count only if no numbers turn up for these keys.
            self.t4_blank_rows.append((cells, row.label, score))
            return
        for key, cell, value in cells:
            self._put(key, cell, value, row.label, score)

    def _finish_t4(self) -> None:
        """Table 4 is usually one row of 15 numbers under a three-level header, read in order."""
        keys = [f"t4.{g.key}.{o.key}" for g in self.reg.table4_groups for o in self.reg.table4_outcomes]
        values = fit_values(self.t4_values, len(keys)) or self.t4_values[: len(keys)]
        if values and len(values) < len(keys):
            self.warnings.append(f"表四只读到 {len(values)} 个数值，应有 {len(keys)} 个")
        for key, (cell, value) in zip(keys, values):
            self._put(key, cell, value, "表四", 0.9)
        for cells, label, score in self.t4_blank_rows:
            for key, cell, value in cells:
                if key not in self.fields:
                    self._put(key, cell, value, label, score)

    # ------------------------------------------------------------------ output
    def _put(self, key: str, cell: Cell, value: CellValue, label: str, confidence: float) -> None:
        if key not in self.template.fields:
            return
        if key in self.fields:
            if self.fields[key].value != value.value:
                kept = self.fields[key].provenance
                assert kept is not None  # every field here came through _put
                self.warnings.append(f"字段 {key} 出现两次（{kept.raw!r} 与 {cell.text!r}），保留第一次")
            return
        ocr = cell.location.ocr  # a cell read from a page image is only as sure as its reading
        self.fields[key] = FieldValue(
            value=value.value, method="ocr" if ocr else "rule", unread=value.unread,
            confidence=0.0 if value.unread else min(confidence, ocr.confidence) if ocr else confidence,
            provenance=Provenance(location=cell.location, raw=cell.text, label=label, grid=self.grids.get(id(cell))),
        )

    def _unplace(self, row: _Row, table: str | None, reason: str) -> None:
        if all(value.blank for _, value in row.values):
            return  # labels with blank padding, such as a header row: no number is lost
        first = row.labels[0] if row.labels else row.values[0][0]
        self.unplaced.append(UnplacedRow(table=table, label=row.label_text, values=[c.text for c, _ in row.values],
                                         location=first.location, reason=reason,
                                         value_locations=[c.location for c, _ in row.values]))
