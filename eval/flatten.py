"""Flattenings: a gold report's page as text whose tables lost their grid, the way real users' text arrives.

`eval/render.py` prints a gold report as a page (`build_page`: paragraphs and grids with the national
template's rowspan/colspan, under a `Style` of label and number perturbations). Here that page is
written out as UTF-8 text (a *.txt file) in one of several families, each a pure function of
(page, rng), optionally after modifiers that change the page first. Title, section headings and prose
are always kept, so meta (year, agency, template) and section 五 read as from the page.

Families (`FAMILIES`; how a table row reaches the text):
- cell_lines_spaced  one cell per line, an empty line between cells (a blank cell: one more empty line);
- cell_lines         one cell per line, no empty lines, a blank cell as an empty line (render's "lines");
- indented           every cell on its own line after a tab, rows apart by an empty line (render's "indented");
- tsv                one row per line, cells apart by tabs (render's "tsv");
- pipes              one row per line, ' | ' between cells, no outer bars;
- markdown           '| a | b |' rows, sometimes a '|---|' rule under a table's first row and '#' headings;
- bar_after          one cell per line, a bar after every cell ("自然人|", a blank cell "|");
- aligned            columns aligned with runs of spaces as `pdftotext -layout` prints them (CJK two columns
                     wide), blank cells vanished (only alignment tells), header cells wrapped inside their
                     column, merged cells printed once (at the top or the middle of the rows they
                     cover), at most one space inside a cell, prose indented and wrapped, pages apart by \\f;
- aligned_marks      the same, blank cells printed as one of —, -, ／, 无;
- fullwidth_bars     '｜' between cells, sometimes outer bars too;
- ideographic_spaces runs of the ideographic space U+3000 between cells; blank cells print a mark and
                     Word's empty continuations of merged cells vanish (an empty cell between two runs
                     would be invisible);
- char_sep           one separator character repeated consistently (`SEPARATORS`);
- glued              a row's label glued to its first number ("行政许可5"), numbers apart by single
                     spaces, blank cells as — or ／ (never two numbers with nothing between them).

Modifiers (`MODIFIERS`, page → page, applied in the order listed, before the family writes the page):
- annotations    long notes in brackets after some row labels ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）");
- wrapped        long labels and header cells broken mid-way onto the next line;
- merged_once    vertically merged cells written once (Word repeats them empty: here they vanish);
- merged_repeat  vertically merged row labels written again in every row they cover;
- extra_rows     rows the template does not have in table 2: 其他主动公开文件 with numbers, a 合计 row;
- number_forms   0 as 00, money as 0.00 / 12.50 (and, in `NAMED`, thousands separators and full-width
                 digits through `Style`).

`NAMED` names one `Recipe` per family and one per modifier (on a fixed family); `compose(seed)` draws a
family, several modifiers and several `Style` perturbations from `random.Random(seed)`. Only blank (null)
gold cells may print blank; a 0 prints 0 (or 00, 0.00).

CLI: `python -m eval.flatten GOLD.json --family NAME [--seed N] -o out.txt` (NAME `random` composes).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from eval.render import Cell, Grid, Page, Para, Style, _word_cells, build_page, to_text
from service.registry import registry

# ---------------------------------------------------------------------------------------------- helpers
_DIGIT = re.compile(r"[0-9０-９]")
_FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# A line that starts like this reads as a heading or a numbered item: prose is never wrapped before it.
_LINE_OPENER = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|[0-9０-９]|[，。、；：）”’》])")

BLANK_MARKS = ("—", "-", "／", "无")
# Separator characters for char_sep. None of them occurs in a registry label, an annotation, a printed
# number (digits , . -) or a blank mark, nor in the gold reports' prose: "、" opens numbered labels
# (一、), "；" and "，" fill prose and annotations, "/" is in 本年增/减 and a blank mark, "-" a sign
# and a mark, "·" joins table 4's group names, "." and "," belong to numbers.
SEPARATORS = (";", "¦", "┃", "•")


def _width(text: str) -> int:
    """Display columns: CJK and full-width characters (U+3000 too) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _is_blank(cell: Cell) -> bool:
    """A value cell of a blank (null) gold field: whatever it prints holds no digit."""
    return cell.key is not None and not _DIGIT.search(cell.text)


def _grids(page: Page) -> list[Grid]:
    return [b for b in page.blocks if isinstance(b, Grid)]


def _map_cells(page: Page, fn: Callable[[Cell], Cell | None]) -> Page:
    """A new page: every table cell through `fn` (None drops it); paragraphs shared."""
    blocks = [replace(b, rows=[[c for c in map(fn, row) if c is not None] for row in b.rows])
              if isinstance(b, Grid) else b for b in page.blocks]
    return replace(page, blocks=blocks)


def _blanks(page: Page, mark: str | None, keep: tuple[str, ...] = ("—", "-", "/", "／", "无")) -> Page:
    """Blank value cells print `mark` ("" vanishes them); a mark the Style printed that is in `keep` stays."""
    def fn(cell: Cell) -> Cell:
        if not _is_blank(cell) or (mark and cell.text in keep):
            return cell
        return replace(cell, text=mark or "")
    return _map_cells(page, fn)


def _rows(grid: Grid) -> list[list[str]]:
    return [[c.text for c in row] for row in _word_cells(grid)]


def _lines(page: Page, row_lines: Callable[[Grid], list[str]], page_break: str | None = "") -> list[str]:
    """Paragraphs one a line, each table through `row_lines`; a page break prints `page_break` (None: nothing)."""
    out: list[str] = []
    for block in page.blocks:
        if isinstance(block, Grid):
            out += row_lines(block)
        elif block.kind != "break":
            out.append(block.text)
        elif page_break is not None:
            out.append(page_break)
    return out


def _join(lines: list[str]) -> str:
    return "\n".join(line.rstrip(" ") for line in "\n".join(lines).split("\n")) + "\n"


# ---------------------------------------------------------------------------------------------- families
def cell_lines_spaced(page: Page, rng: random.Random) -> str:
    """One cell per line and an empty line between cells (and paragraphs): a blank cell adds one more."""
    out = _lines(page, lambda g: [text for row in _rows(g) for text in row], None)
    return "\n\n".join(out) + "\n"


def cell_lines(page: Page, rng: random.Random) -> str:
    return to_text(page, "lines").decode("utf-8")


def indented(page: Page, rng: random.Random) -> str:
    return to_text(page, "indented").decode("utf-8")


def tsv(page: Page, rng: random.Random) -> str:
    return to_text(page, "tsv").decode("utf-8")


def pipes(page: Page, rng: random.Random) -> str:
    return _join(_lines(page, lambda g: [" | ".join(row) for row in _rows(g)]))


def markdown(page: Page, rng: random.Random) -> str:
    rule, hashes = rng.random() < 0.6, rng.random() < 0.5

    def table(grid: Grid) -> list[str]:
        rows = _rows(grid)
        out = ["", *(f"| {' | '.join(row)} |" for row in rows), ""]
        if rule:
            out.insert(2, "|" + "---|" * len(rows[0]))
        return out

    out: list[str] = []
    for block in page.blocks:
        if isinstance(block, Grid):
            out += table(block)
        elif block.kind == "title":
            out.append(("# " if hashes else "") + block.text)
        elif block.kind == "heading":
            out.append(("## " if hashes else "") + block.text)
        elif block.kind != "break":
            out.append(block.text)
    return _join(out)


def bar_after(page: Page, rng: random.Random) -> str:
    return _join(_lines(page, lambda g: [f"{text}|" for row in _rows(g) for text in row]))


def fullwidth_bars(page: Page, rng: random.Random) -> str:
    outer = rng.random() < 0.5
    wrap = (lambda s: f"｜{s}｜") if outer else (lambda s: s)
    return _join(_lines(page, lambda g: [wrap("｜".join(row)) for row in _rows(g)]))


def ideographic_spaces(page: Page, rng: random.Random) -> str:
    """Cells apart by runs of U+3000; a run inside a label (Style.spaced) becomes an ASCII space."""
    page = _blanks(page, rng.choice(("—", "／", "无")))
    page = _map_cells(page, lambda c: replace(c, text=c.text.replace("\u3000", " ")) if c.text else None)
    gap = lambda: "\u3000" * rng.randint(1, 3)

    def row_lines(grid: Grid) -> list[str]:
        out = []
        for row in _rows(grid):
            line = ""
            for i, text in enumerate(row):
                line += (gap() if i else "") + text
            out.append(line)
        return out

    return _join(_lines(page, row_lines))


def char_sep(page: Page, rng: random.Random) -> str:
    sep, outer = rng.choice(SEPARATORS), rng.random() < 0.4
    wrap = (lambda s: f"{sep}{s}{sep}") if outer else (lambda s: s)
    return _join(_lines(page, lambda g: [wrap(sep.join(row)) for row in _rows(g)]))


def glued(page: Page, rng: random.Random) -> str:
    """Labels (joined by spaces) glued to the row's first number; numbers apart by one space."""
    page = _blanks(page, rng.choice(("—", "／")), keep=("—", "/", "／", "-"))

    def row_lines(grid: Grid) -> list[str]:
        out = []
        for row in grid.rows:
            labels = " ".join(c.text for c in row if c.key is None and c.text)
            values = " ".join(c.text for c in row if c.key is not None)
            out.append(labels + values)
        return out

    return _join(_lines(page, row_lines))


# ---- aligned columns (pdftotext -layout)
@dataclass(frozen=True)
class _Align:
    gap: int  # spaces between columns
    min_value: int  # narrowest value column: its header cells wrap to it
    label_cap: int  # widest label column: longer labels wrap
    values: str  # left, right or center
    headers: str  # left or center
    valign: str  # top or middle: where a cell taller than one line sits in its rows
    page_width: int  # prose wraps here


def _wrap(text: str, width: int) -> list[str]:
    """Break at `width` display columns; never inside a run of ASCII letters, digits and points."""
    out: list[str] = []
    for part in text.split("\n"):
        line, used = "", 0
        for i, ch in enumerate(part):
            w = _width(ch)
            joined = i and re.match(r"[0-9A-Za-z.,]", ch) and re.match(r"[0-9A-Za-z.,]", part[i - 1])
            if line and used + w > width and not joined:
                out.append(line)
                line, used = "", 0
            line += ch
            used += w
        out.append(line)
    return out


def _wrap_prose(text: str, width: int) -> list[str]:
    """A paragraph as pdftotext prints it: wrapped at `width`, never before a closing mark, a digit or
    something that would open a numbered line."""
    out = []
    while _width(text) > width:
        cut, used = 0, 0
        for i, ch in enumerate(text):
            used += _width(ch)
            if used > width:
                break
            if i and not _LINE_OPENER.match(text[i:]) and not (text[i].isascii() and text[i - 1].isascii()):
                cut = i
        if cut == 0:
            break
        out.append(text[:cut])
        text = text[cut:]
    return [*out, text]


def _aligned_table(grids: list[Grid], opts: _Align) -> dict[int, list[str]]:
    """Every segment of one table laid out on the same columns (a PDF table keeps them across pages)."""
    n = max(c.col + c.colspan for g in grids for row in g.rows for c in row)
    value_cols = {col for g in grids for row in g.rows for c in row if c.key  # blank ones too
                  for col in range(c.col, c.col + c.colspan)}
    cells = [c for g in grids for row in g.rows for c in row if c.text]
    widths = [opts.min_value if col in value_cols else 4 for col in range(n)]
    for c in cells:
        if c.colspan == 1 and (c.key or c.col not in value_cols):
            natural = max(_width(line) for line in c.text.split("\n"))
            widths[c.col] = max(widths[c.col], natural if c.key else min(natural, opts.label_cap))
    for c in cells:  # spanned values and labels wider than their columns' caps still fit
        span = range(c.col, c.col + c.colspan)
        need = _width(c.text) if c.key else min(_width(c.text), 4)
        have = sum(widths[i] for i in span) + opts.gap * (c.colspan - 1)
        if need > have:
            widths[span[-1]] += need - have
    x = [sum(widths[:i]) + opts.gap * i for i in range(n)]
    return {id(g): _aligned_grid(g, widths, x, value_cols, opts) for g in grids}


def _aligned_grid(grid: Grid, widths: list[int], x: list[int], value_cols: set[int], opts: _Align) -> list[str]:
    rows = grid.rows
    placed = []  # (row, rowspan, cell, wrapped lines, span width)
    for r, row in enumerate(rows):
        for c in row:
            if c.text:
                width = sum(widths[c.col:c.col + c.colspan]) + opts.gap * (c.colspan - 1)
                placed.append((r, min(c.rowspan, len(rows) - r), c, _wrap(c.text, width), width))
    heights = [1] * len(rows)
    for r, span, _, lines, _ in sorted(placed, key=lambda p: p[1]):
        short = len(lines) - sum(heights[r:r + span])
        if short > 0:
            heights[r + span - 1] += short
    tops = [sum(heights[:r]) for r in range(len(rows))]
    canvas: list[list[tuple[int, str]]] = [[] for _ in range(sum(heights))]
    for r, span, c, lines, width in placed:
        room = sum(heights[r:r + span])
        y = tops[r] + ((room - len(lines)) // 2 if opts.valign == "middle" else 0)
        how = opts.values if c.key else opts.headers if c.col in value_cols else "left"
        for i, line in enumerate(lines):
            pad = width - _width(line)
            shift = {"left": 0, "right": pad, "center": pad // 2}[how]
            canvas[y + i].append((x[c.col] + shift, line))
    out = []
    for items in canvas:
        line, used = "", 0
        for at, text in sorted(items):
            line += " " * max(at - used, 1 if line else 0) + text
            used = max(at, used + (1 if line else 0)) + _width(text)
        out.append(line)
    return out


def _aligned(page: Page, rng: random.Random, mark: str | None) -> str:
    opts = _Align(gap=rng.randint(2, 4), min_value=rng.choice((4, 6, 8)), label_cap=rng.choice((16, 20, 28, 40)),
                  values=rng.choice(("left", "right", "center")), headers=rng.choice(("left", "center")),
                  valign=rng.choice(("top", "middle")), page_width=rng.choice((70, 80, 90)))
    page = _blanks(page, mark)
    # Inside a cell at most one space (Style.spaced prints runs): two or more only ever part columns.
    page = _map_cells(page, lambda c: replace(c, text=re.sub(r"[ \u3000]+", " ", c.text)))
    tables: dict[str, list[Grid]] = {}
    for grid in _grids(page):
        tables.setdefault(grid.table, []).append(grid)
    laid: dict[int, list[str]] = {}
    for grids in tables.values():
        laid.update(_aligned_table(grids, opts))
    out: list[str] = []
    feed = False
    for block in page.blocks:
        if isinstance(block, Grid):
            lines = laid[id(block)]
        elif block.kind == "break":
            feed = True
            continue
        elif block.kind in ("title", "furniture"):
            lines = [" " * max((opts.page_width - _width(block.text)) // 2, 0) + block.text]
        elif block.kind == "heading":
            lines = [block.text]
        else:
            lines = _wrap_prose("    " + block.text.strip(), opts.page_width)
        if feed and lines:
            lines = ["\f" + lines[0], *lines[1:]]
            feed = False
        out += lines
    return _join(out)


def aligned(page: Page, rng: random.Random) -> str:
    return _aligned(page, rng, None)


def aligned_marks(page: Page, rng: random.Random) -> str:
    return _aligned(page, rng, rng.choice(BLANK_MARKS))


FAMILIES: dict[str, Callable[[Page, random.Random], str]] = {
    "cell_lines_spaced": cell_lines_spaced,
    "cell_lines": cell_lines,
    "indented": indented,
    "tsv": tsv,
    "pipes": pipes,
    "markdown": markdown,
    "bar_after": bar_after,
    "aligned": aligned,
    "aligned_marks": aligned_marks,
    "fullwidth_bars": fullwidth_bars,
    "ideographic_spaces": ideographic_spaces,
    "char_sep": char_sep,
    "glued": glued,
}


# ---------------------------------------------------------------------------------------------- modifiers
# Notes real reports print after a label. None holds a digit, a column's name (自然人 商业 科研 公益
# 法律服务 其他 总计) or another row's words, so the label still names its row and only its row.
ANNOTATIONS = {
    "t3.new_received": "（含当面、网络、信函等方式提交的申请）",
    "t3.carried_over": "（上年度未办结、结转至本年度的申请）",
    "t3.partially_granted": "（区分处理的，只计这一情形，不计其他情形）",
    "t3.withheld.third_party_rights": "（涉及个人隐私的）",
    "t3.unavailable.not_held": "（经检索没有所申请信息的）",
    "t3.not_processed.petition_complaint": "（按信访程序办理）",
    "t3.carried_forward": "（截至年底尚在办理期限内）",
    "t2.regulations": "（以本机关名义制定）",
    "t2.licensing": "（含变更、延续）",
}


def _row_key(row: list[Cell]) -> str | None:
    key = next((c.key for c in row if c.key and not c.key.startswith("+")), None)
    return key.rsplit(".", 1)[0] if key else None


def annotated(page: Page, rng: random.Random, style: Style) -> Page:
    chosen = {k for k in ANNOTATIONS if rng.random() < 0.7} or {"t3.partially_granted"}
    blocks = []
    for block in page.blocks:
        if isinstance(block, Grid):
            rows = []
            for row in block.rows:
                key = _row_key(row)
                labels = [c for c in row if c.key is None and c.text]
                if key in chosen and labels:  # the row's own label is its last label cell
                    last = labels[-1]
                    row = [replace(c, text=c.text + ANNOTATIONS[key]) if c is last else c for c in row]
                rows.append(row)
            block = replace(block, rows=rows)
        blocks.append(block)
    return replace(page, blocks=blocks)


def _break_point(text: str, rng: random.Random) -> int | None:
    """Somewhere in the middle third, between two CJK characters (never inside a number or numbering)."""
    spots = [i for i in range(1, len(text)) if _CJK.match(text[i - 1]) and _CJK.match(text[i])]
    middle = [i for i in spots if len(text) / 3 <= i <= 2 * len(text) / 3] or spots
    return rng.choice(middle) if middle else None


def wrapped(page: Page, rng: random.Random, style: Style) -> Page:
    """Labels and header cells of 6 characters or more broken once (the longest twice), some of them."""
    def fn(cell: Cell) -> Cell:
        if cell.key is not None or len(cell.text) < 6 or "\n" in cell.text or rng.random() < 0.4:
            return cell
        parts = [cell.text]
        for _ in range(1 + (len(cell.text) >= 24)):
            longest = max(range(len(parts)), key=lambda i: len(parts[i]))
            at = _break_point(parts[longest], rng)
            if at is None:
                break
            parts[longest:longest + 1] = [parts[longest][:at], parts[longest][at:]]
        return replace(cell, text="\n".join(parts))
    return _map_cells(page, fn)


def _label_of_data_row(grid: Grid, r: int, cell: Cell) -> bool:
    """A label cell in a row that holds values (not a header row)."""
    return cell.key is None and any(c.key for c in grid.rows[r])


def merged_once(page: Page, rng: random.Random, style: Style) -> Page:
    """Every merged cell in its first row only: no rowspans, no empty continuations."""
    return _map_cells(page, lambda c: None if c.key is None and not c.text else replace(c, rowspan=1))


def merged_repeat(page: Page, rng: random.Random, style: Style) -> Page:
    """A row label merged over several data rows (三、本年度办理结果, （三）不予公开) printed in each of them,
    also where a page break cut it (the continuation is empty there); header rows keep Word's form."""
    last: dict[tuple[str, int], str] = {}
    blocks: list[Para | Grid] = []
    for block in page.blocks:
        if not isinstance(block, Grid):
            blocks.append(block)
            continue
        out: list[list[Cell]] = [[] for _ in block.rows]
        for r, row in enumerate(block.rows):
            for c in row:
                if _label_of_data_row(block, r, c):
                    if not c.text and (block.table, c.col) in last:
                        c = replace(c, text=last[block.table, c.col])
                    elif c.rowspan > 1:
                        last[block.table, c.col] = c.text
                    for k in range(min(c.rowspan, len(block.rows) - r)):
                        out[r + k].append(replace(c, rowspan=1))
                else:
                    out[r].append(c)
        blocks.append(replace(block, rows=[sorted(row, key=lambda c: c.col) for row in out]))
    return replace(page, blocks=blocks)


def _print_number(value: float | int, style: Style) -> str:
    text = f"{value:,}" if style.thousands and abs(value) >= 1000 else str(value)
    return text.translate(_FULLWIDTH_DIGITS) if style.fullwidth else text


def extra_rows(page: Page, rng: random.Random, style: Style) -> Page:
    """Rows of table 2 the template lacks, after the 第二十条第（一）项 rows: 其他主动公开文件 with numbers
    and/or 合计 (their sums). A reader tells them apart from the template's rows by their labels: neither
    holds the name of a table 2 row or column (规章, 规范性文件, 行政许可 … 政府集中采购), and 合计 is no
    table 2 name at all (in table 3 it names a column, never a row). Their cells carry the key "+extra"."""
    kinds = rng.choice((("other",), ("sum",), ("other", "sum")))
    blocks = []
    done = False
    for block in page.blocks:
        if isinstance(block, Grid) and block.table == "t2" and not done:
            item = [r for r, row in enumerate(block.rows)
                    if (_row_key(row) or "").split(".")[1:2] in (["regulations"], ["normative_documents"])]
            if item:
                done = True
                model = block.rows[item[-1]]
                values = [c for c in model if c.key]
                extra: list[list[Cell]] = []
                if "other" in kinds:
                    numbers = [rng.randint(0, 40) for _ in values]
                    extra.append(_extra_row("其他主动公开文件", model, numbers, style))
                if "sum" in kinds:
                    sums: list[int | float] = [0] * len(values)
                    for r in item:
                        for i, c in enumerate(c for c in block.rows[r] if c.key):
                            sums[i] += _printed_value(c)
                    for row in extra:
                        for i, c in enumerate(c for c in row if c.key):
                            sums[i] += _printed_value(c)
                    extra.append(_extra_row("合计", model, sums, style))
                block = replace(block, rows=block.rows[:item[-1] + 1] + extra + block.rows[item[-1] + 1:])
        blocks.append(block)
    return replace(page, blocks=blocks)


def _printed_value(cell: Cell) -> int | float:
    """The number a value cell prints (0 for a blank)."""
    text = cell.text.translate(str.maketrans("０１２３４５６７８９", "0123456789")).replace(",", "")
    if not re.fullmatch(r"-?\d+(?:\.\d+)?", text):
        return 0
    return float(text) if "." in text else int(text)


def _extra_row(label: str, model: list[Cell], numbers: Sequence[int | float], style: Style) -> list[Cell]:
    left = iter(numbers)
    row = []
    for c in model:
        if c.key:
            row.append(replace(c, text=_print_number(next(left), style), key="+extra"))
        else:
            row.append(replace(c, text=label))
    return row


def number_forms(page: Page, rng: random.Random, style: Style) -> Page:
    """0 printed 00 in some cells; money always with two decimals where it has at most two (0.00, 12.50)."""
    fields = registry().templates

    def money(key: str) -> bool:
        return any(key in t.fields and t.fields[key].money for t in fields.values())

    def fn(cell: Cell) -> Cell:
        if not cell.key or cell.key.startswith("+") or _is_blank(cell):
            return cell
        if money(cell.key):
            whole, _, frac = cell.text.partition(".")
            if len(frac) <= 2:
                decimals = (frac + "00")[:2]
                if style.fullwidth:
                    decimals = decimals.translate(_FULLWIDTH_DIGITS)
                return replace(cell, text=f"{whole}.{decimals}")
            return cell
        if cell.text in ("0", "０") and rng.random() < 0.5:
            return replace(cell, text=cell.text * 2)
        return cell

    return _map_cells(page, fn)


MODIFIERS: dict[str, Callable[[Page, random.Random, Style], Page]] = {
    "annotations": annotated,
    "wrapped": wrapped,
    "merged_once": merged_once,
    "merged_repeat": merged_repeat,
    "extra_rows": extra_rows,
    "number_forms": number_forms,
}
_EXCLUSIVE = ("merged_once", "merged_repeat")


# ---------------------------------------------------------------------------------------------- recipes
@dataclass(frozen=True)
class Recipe:
    family: str
    modifiers: tuple[str, ...] = ()
    style: Style = Style()
    seed: int = 0

    def describe(self) -> str:
        changed = [f"{name}={getattr(self.style, name)!r}" for name in Style.__dataclass_fields__
                   if name != "seed" and getattr(self.style, name) != Style.__dataclass_fields__[name].default]
        return "+".join([self.family, *self.modifiers]) + (f" style({', '.join(changed)})" if changed else "")


NAMED: dict[str, Recipe] = {
    **{name: Recipe(name) for name in FAMILIES},
    "wrapped": Recipe("cell_lines", ("wrapped",)),
    "merged_once": Recipe("tsv", ("merged_once",)),
    "merged_repeat": Recipe("pipes", ("merged_repeat",)),
    "extra_rows": Recipe("cell_lines_spaced", ("extra_rows",)),
    "annotations": Recipe("char_sep", ("annotations",)),
    "number_forms": Recipe("glued", ("number_forms",), Style(thousands=True, fullwidth=True)),
}


def compose(seed: int) -> Recipe:
    """A family, several modifiers and several Style perturbations, all drawn from random.Random(seed).
    Blanks never print 0 here (a null cell prints no number)."""
    rng = random.Random(seed)
    family = rng.choice(sorted(FAMILIES))
    modifiers = [m for m in MODIFIERS if rng.random() < 0.35]
    if all(m in modifiers for m in _EXCLUSIVE):
        modifiers.remove(rng.choice(_EXCLUSIVE))
    style = Style(
        drop_numbering=rng.random() < 0.3,
        alias=rng.randrange(3) if rng.random() < 0.3 else None,
        spaced=rng.random() < 0.3,
        fullwidth=rng.random() < 0.25,
        thousands=rng.random() < 0.4,
        blanks=tuple(rng.sample(("", "—", "/", "无"), rng.randint(1, 3))) if rng.random() < 0.35 else ("",),
        furniture=rng.random() < 0.4,
        split=rng.random() < 0.3,
        seed=rng.randrange(2**31),
    )
    return Recipe(family, tuple(modifiers), style, rng.randrange(2**31))


def prepare(gold: dict, recipe: Recipe) -> tuple[Page, random.Random]:
    """The page under the recipe's style with its modifiers applied, and the rng the family draws from next."""
    rng = random.Random(recipe.seed)
    page = build_page(gold, recipe.style)
    for name in MODIFIERS:  # a fixed order, whatever order the recipe lists them in
        if name in recipe.modifiers:
            page = MODIFIERS[name](page, rng, recipe.style)
    return page, rng


def flatten(gold: dict, recipe: Recipe) -> bytes:
    page, rng = prepare(gold, recipe)
    return FAMILIES[recipe.family](page, rng).encode("utf-8")


def recipe_for(gold: dict, name: str) -> Recipe:
    """The recipe a modality uses for one report: a named one seeded by the report's id, or for
    "random" one composition seeded by it."""
    seed = zlib.crc32(str(gold.get("id", "report")).encode())
    if name == "random":
        return compose(seed)
    recipe = NAMED[name]
    return replace(recipe, seed=seed, style=replace(recipe.style, seed=seed))


MODALITIES = tuple(f"flat_{name}" for name in [*NAMED, "random"])


def render_modality(gold: dict, modality: str) -> tuple[bytes, str]:
    """`flat_<name>` of eval/suite.py: the bytes and a *.txt file name."""
    name = modality.removeprefix("flat_")
    return flatten(gold, recipe_for(gold, name)), f"{gold.get('id', 'report')}.{modality}.txt"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a gold report as flattened text (tables without their grid).")
    parser.add_argument("gold", type=Path, nargs="?", help="path to gold.json")
    parser.add_argument("--family", default="random", help=f"one of {', '.join(NAMED)}, or random")
    parser.add_argument("--seed", type=int, help="seed (default: from the report's id)")
    parser.add_argument("-o", "--out", type=Path, help="output file (default: stdout)")
    parser.add_argument("--list", action="store_true", help="list the names and exit")
    args = parser.parse_args(argv)
    if args.list or args.gold is None:
        print("\n".join([*NAMED, "random"]))
        return
    if args.family not in NAMED and args.family != "random":
        parser.error(f"unknown family {args.family!r}; one of {', '.join(NAMED)}, random")
    gold = json.loads(args.gold.read_text("utf-8"))
    if args.seed is None:
        recipe = recipe_for(gold, args.family)
    elif args.family == "random":
        recipe = compose(args.seed)
    else:
        recipe = replace(NAMED[args.family], seed=args.seed, style=replace(NAMED[args.family].style, seed=args.seed))
    data = flatten(gold, recipe)
    print(recipe.describe(), file=sys.stderr)
    if args.out:
        args.out.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


if __name__ == "__main__":
    main()
