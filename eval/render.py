"""Re-render a gold report (the gold.json dict) into other layouts, to test extraction against them.

Everything printed in the tables comes from the registry (`service.registry`): row and column labels,
their aliases and order, template structure. Only the national template's fixed furniture that the
registry does not hold ("信息内容", "申请人情况", "法人或其他组织" and
table 3's 勾稽关系 note) is written here.

Entry point: `render(gold, layout, style) -> (bytes, filename)`; `build_page` gives the neutral page.

Layouts (`LAYOUTS`):
- "html"          a full web page: nav bar, breadcrumb, title, the six sections, tables 2–4 with
                  rowspan/colspan as the national template prints them, &nbsp; in some blank cells, footer;
- "docx"          python-docx, the same content, merged cells via cell.merge (vMerge and gridSpan);
- "text_indented" text pasted from Word: every cell on its own line after a tab, rows separated by
                  an empty line, a vertically merged cell repeated as an empty cell below its first row;
- "text_tsv"      one row per line, cells separated by tabs (merged cells as above);
- "text_lines"    one cell per line without tabs, blank cells as empty lines.

Perturbations (`Style` fields, combinable with every layout and with each other; `PERTURBATIONS`
names one preset each, `combine` merges them; all randomness draws from `Style.seed`):
- drop_numbering  "一、本年新收…" → "本年新收…", "（三）不予公开" → "不予公开", "1.属于国家秘密" → "属于国家秘密";
- alias=k         every label that has aliases prints its k-th (cycling) alias, keeping its numbering;
- spaced          spaces (ASCII or ideographic) inserted between CJK characters of labels;
- fullwidth       digits printed full width (０-９), in values and labels;
- thousands       values ≥ 1000 printed with thousands separators (1,234);
- blanks          what a blank (null) gold cell prints, chosen per cell: "", "—", "/", "无", or "0";
- furniture       page-number lines ("- 3 -", "第3页 共5页") and the running title between table rows,
                  which cuts HTML and DOCX tables there;
- split           table 3 cut in two inside its result rows, the header repeated, a page break between.

Only keys present in gold.json print numbers; a table row none of whose keys are in gold is left out,
as is a table with no keys at all. Run `python -m eval.render gold.json --layout html -o out.html`.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import random
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from itertools import groupby
from pathlib import Path

import docx
from docx.enum.text import WD_BREAK

from service.registry import Label, Registry, Template, registry

# Leading enumeration as the registry's labels print it: 一、 （一） 1.
_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+\.)")
_CJK_PAIR = re.compile(r"(?<=[\u4e00-\u9fff])(?=[\u4e00-\u9fff])")
_FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
_T3_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
_SENTENCES = {
    "general": "本年度，{agency}认真贯彻落实《中华人民共和国政府信息公开条例》，扎实推进政府信息公开工作。",
    "problems_and_improvements": "本年度政府信息公开工作仍存在一些不足，下一步将持续改进。",
    "other_matters": "无其他需要报告的事项。",
}
_TABLE_SENTENCE = "具体情况见下表。"  # words no section heading keyword contains


# ---------------------------------------------------------------------------------------------- style
@dataclass(frozen=True)
class Style:
    """How the report is printed. The defaults print the official labels and plain numbers."""

    drop_numbering: bool = False
    alias: int | None = None
    spaced: bool = False
    fullwidth: bool = False
    thousands: bool = False
    blanks: tuple[str, ...] = ("",)
    furniture: bool = False
    split: bool = False
    seed: int = 0


PERTURBATIONS: dict[str, Style] = {
    "numbering_dropped": Style(drop_numbering=True),
    "aliases_0": Style(alias=0),
    "aliases_1": Style(alias=1),
    "aliases_2": Style(alias=2),
    "spaced_labels": Style(spaced=True),
    "fullwidth_digits": Style(fullwidth=True),
    "thousands": Style(thousands=True),
    "blank_marks": Style(blanks=("", "—", "/", "无")),
    "blank_zero": Style(blanks=("0",)),
    "page_furniture": Style(furniture=True),
    "split_table": Style(split=True),
}


def combine(*styles: Style) -> Style:
    """One style with every field any of `styles` sets away from its default; later ones win."""
    out = Style()
    for style in styles:
        out = replace(out, **{f.name: getattr(style, f.name) for f in fields(Style)
                              if getattr(style, f.name) != f.default})
    return out


# ---------------------------------------------------------------------------------------------- page model
@dataclass
class Cell:
    text: str
    col: int  # grid column of the cell's left edge
    rowspan: int = 1
    colspan: int = 1
    key: str | None = None  # the gold field a value cell prints; None for labels and header cells


@dataclass
class Break:
    """A cut between table rows: the lines printed in it, and whether the header repeats after it."""

    lines: list[str] = field(default_factory=list)
    repeat_header: bool = False


@dataclass
class Grid:
    table: str  # "t2", "t3" or "t4"
    rows: list[list[Cell]]
    header: int = 0  # leading rows that form the column header
    breaks: dict[int, Break] = field(default_factory=dict)  # row index → cut before that row


@dataclass
class Para:
    text: str
    kind: str = "text"  # title, heading, text, furniture, or break (a page break, no text)


@dataclass
class Page:
    title: str
    agency: str
    year: int
    blocks: list[Para | Grid]  # tables already cut at their breaks


class _Printer:
    """Turns registry labels and gold values into printed cell text under one Style."""

    def __init__(self, gold_fields: dict, style: Style) -> None:
        self.fields = gold_fields
        self.style = style
        self.rng = random.Random(style.seed)

    def has_any(self, keys: list[str]) -> bool:
        return any(key in self.fields for key in keys)

    def label(self, label: Label) -> str:
        text = label.label
        if self.style.alias is not None and label.aliases:
            number = _NUMBERING.match(text)
            text = (number.group(0) if number else "") + label.aliases[self.style.alias % len(label.aliases)]
        return self.text(text)

    def text(self, text: str) -> str:
        if self.style.drop_numbering:
            text = _NUMBERING.sub("", text)
        if self.style.spaced:
            text = self._spaced(text)
        return text.translate(_FULLWIDTH_DIGITS) if self.style.fullwidth else text

    def _spaced(self, text: str) -> str:
        gaps = [m.start() for m in _CJK_PAIR.finditer(text)]
        for at in sorted(self.rng.sample(gaps, min(2, len(gaps))), reverse=True):
            text = text[:at] + self.rng.choice((" ", "  ", "\u3000")) + text[at:]
        return text

    def value(self, key: str) -> str:
        if key not in self.fields:
            return ""  # the report lacks the cell; a row left out entirely never gets here
        value = self.fields[key]
        if value is None:
            return self.rng.choice(self.style.blanks)
        text = f"{value:,}" if self.style.thousands and abs(value) >= 1000 else str(value)
        return text.translate(_FULLWIDTH_DIGITS) if self.style.fullwidth else text


# ---------------------------------------------------------------------------------------------- tables
def _spread(texts: list[str], width: int, keys: Sequence[str | None] | None = None) -> list[Cell]:
    """Cells right of the label column; the last widens to fill `width` columns, as the template merges them."""
    cells = [Cell(t, 1 + i, key=k) for i, (t, k) in enumerate(zip(texts, keys or [None] * len(texts)))]
    cells[-1].colspan = width - len(texts) + 1
    return cells


def _table2(template: Template, p: _Printer) -> Grid | None:
    """Sub-tables per 第二十条 item, each a heading row, a column header row and its data rows."""
    rows = [r for r in template.table2_rows if p.has_any([f"t2.{r.key}.{c.key}" for c in r.columns])]
    if not rows:
        return None
    width = max(len(r.columns) for r in template.table2_rows)
    out: list[list[Cell]] = []
    for item, group in groupby(rows, key=lambda r: r.item):
        members = list(group)
        out.append([Cell(p.text(f"第二十条第（{item}）项"), 0, colspan=width + 1)])
        out.append([Cell(p.text("信息内容"), 0), *_spread([p.label(c) for c in members[0].columns], width)])
        for row in members:
            keys = [f"t2.{row.key}.{c.key}" for c in row.columns]
            values = [p.value(key) for key in keys]  # before the label: both draw from the style's rng
            out.append([Cell(p.label(row), 0), *_spread(values, width, keys)])
    return Grid("t2", out)


def _table3_header(reg: Registry, p: _Printer) -> list[list[Cell]]:
    """申请人情况 over 自然人 | 法人或其他组织 (the middle columns) | 总计, as the template prints it."""
    cols = reg.table3_columns
    n = len(cols)
    return [
        [Cell(p.text(_T3_NOTE), 0, rowspan=3, colspan=3), Cell(p.text("申请人情况"), 3, colspan=n)],
        [Cell(p.label(cols[0]), 3, rowspan=2), Cell(p.text("法人或其他组织"), 4, colspan=n - 2),
         Cell(p.label(cols[-1]), 3 + n - 1, rowspan=2)],
        [Cell(p.label(c), 4 + i) for i, c in enumerate(cols[1:-1])],
    ]


def _table3(template: Template, reg: Registry, p: _Printer) -> Grid | None:
    """Three label columns: the results group (rowspan), its sub-groups (rowspan), the row label."""
    cols = reg.table3_columns
    rows = [r for r in template.table3_rows if p.has_any([f"t3.{r.key}.{c.key}" for c in cols])]
    if not rows:
        return None
    groups = {g.key: g for g in template.table3_groups}
    outer = next(r.group for r in template.table3_rows if r.result)  # every other group nests in it
    assert outer is not None  # the registry puts the results rows in a group
    sizes = {key: sum(1 for r in rows if r.group == key) for key in groups}
    sizes[outer] = sum(1 for r in rows if r.group)
    started: set[str] = set()

    def group_cell(key: str, col: int) -> list[Cell]:
        if key in started:
            return []
        started.add(key)
        return [Cell(p.label(groups[key]), col, rowspan=sizes[key])]

    out = _table3_header(reg, p)
    for row in rows:
        if row.group is None:
            labels = [Cell(p.label(row), 0, colspan=3)]
        elif row.group == outer:
            labels = [*group_cell(outer, 0), Cell(p.label(row), 1, colspan=2)]
        else:
            labels = [*group_cell(outer, 0), *group_cell(row.group, 1), Cell(p.label(row), 2)]
        keys = [f"t3.{row.key}.{c.key}" for c in cols]
        out.append(labels + [Cell(p.value(key), 3 + i, key=key) for i, key in enumerate(keys)])
    return Grid("t3", out, header=3)


def _table4(reg: Registry, p: _Printer) -> Grid | None:
    """Group labels "行政诉讼·复议后起诉" give the two upper header levels; outcomes the third."""
    groups, outcomes = reg.table4_groups, reg.table4_outcomes
    keys = [f"t4.{g.key}.{o.key}" for g in groups for o in outcomes]
    if not p.has_any(keys):
        return None
    width = len(outcomes)
    parts = [g.label.split("·") for g in groups]
    top, middle, bottom = [], [], []
    for i, names in enumerate(parts):
        col = i * width
        if len(names) == 1:
            top.append(Cell(p.text(names[0]), col, colspan=width))
            middle += [Cell(p.label(o), col + j, rowspan=2) for j, o in enumerate(outcomes)]
            continue
        if i == 0 or parts[i - 1][0] != names[0]:
            siblings = next((k for k, n in enumerate(parts[i:]) if n[0] != names[0]), len(parts) - i)
            top.append(Cell(p.text(names[0]), col, colspan=width * siblings))
        middle.append(Cell(p.text(names[1]), col, colspan=width))
        bottom += [Cell(p.label(o), col + j) for j, o in enumerate(outcomes)]
    values = [Cell(p.value(key), i, key=key) for i, key in enumerate(keys)]
    return Grid("t4", [top, middle, bottom, values], header=3)


# ---------------------------------------------------------------------------------------------- page
def _section_lines(key: str, gold: dict) -> list[str]:
    if key == "problems_and_improvements" and gold.get("sections", {}).get(key):
        return gold["sections"][key].split("\n")
    return [_SENTENCES.get(key, _TABLE_SENTENCE).format(agency=gold["meta"]["agency"])]


def _mark_breaks(grids: list[Grid], title: str, p: _Printer) -> None:
    """Choose where pages end inside tables (furniture) and where table 3 is cut (split)."""
    if p.style.furniture:
        cuts, left = [], p.rng.randint(3, 8)
        for grid in grids:
            for r in range(1, len(grid.rows)):
                left -= 1
                if left == 0:
                    cuts.append((grid, r))
                    left = p.rng.randint(6, 12)
        total = len(cuts) + 2
        for page, (grid, r) in enumerate(cuts, start=2):
            number = f"- {page} -" if page % 2 else f"第{page}页 共{total}页"
            grid.breaks[r] = Break([number, title])
    t3 = next((g for g in grids if g.table == "t3"), None)
    if p.style.split and t3 and len(t3.rows) > t3.header + 4:
        r = p.rng.randint(t3.header + 3, len(t3.rows) - 2)
        t3.breaks.setdefault(r, Break()).repeat_header = True


def _cut(rows: list[list[Cell]], a: int, b: int) -> list[list[Cell]]:
    """Rows a..b-1 as a table of their own: spans clipped at b, cells from above continued empty."""
    out = [[replace(c, rowspan=min(c.rowspan, b - r)) for c in rows[r]] for r in range(a, b)]
    for r in range(a):
        out[0] += [replace(c, text="", rowspan=min(r + c.rowspan, b) - a) for c in rows[r] if r + c.rowspan > a]
    out[0].sort(key=lambda c: c.col)
    return out


def _segments(grid: Grid) -> list[Para | Grid]:
    bounds = [0, *sorted(grid.breaks), len(grid.rows)]
    out: list[Para | Grid] = []
    for a, b in zip(bounds, bounds[1:]):
        rows = _cut(grid.rows, a, b)
        if a:
            cut = grid.breaks[a]
            out += [Para("", "break"), *(Para(line, "furniture") for line in cut.lines)]
            if cut.repeat_header:
                rows = _cut(grid.rows, 0, grid.header) + rows
        out.append(Grid(grid.table, rows, grid.header if not a or grid.breaks[a].repeat_header else 0))
    return out


def build_page(gold: dict, style: Style = Style(), reg: Registry | None = None,
               prose: dict[str, list[str]] | None = None) -> Page:
    """`reg` prints other labels or row orders than the registry's (eval/drift.py); `prose` gives,
    per section key, the sentences printed in place of that section's table."""
    reg = reg or registry()
    prose = prose or {}
    meta = gold["meta"]
    template = reg.templates[meta["template"]]
    p = _Printer(gold["fields"], style)
    title = f"{meta['agency']}{meta['year']}年政府信息公开工作年度报告"
    tables = {"proactive": _table2(template, p), "requests": _table3(template, reg, p),
              "review_litigation": _table4(reg, p)}
    tables = {key: grid for key, grid in tables.items() if key not in prose}
    _mark_breaks([g for g in tables.values() if g], title, p)
    blocks: list[Para | Grid] = [Para(title, "title")]
    for section in reg.sections:
        blocks.append(Para(section.label, "heading"))
        blocks += [Para(line) for line in _section_lines(section.key, gold)]
        blocks += [Para(line) for line in prose.get(section.key, [])]
        if grid := tables.get(section.key):
            blocks += _segments(grid)
    return Page(title, meta["agency"], meta["year"], blocks)


# ---------------------------------------------------------------------------------------------- writers
def _word_cells(grid: Grid) -> list[list[Cell]]:
    """Each row's cells as Word keeps them: a vertically merged cell reappears empty in later rows."""
    covering: dict[int, int] = {}  # grid column → first row the merged cell no longer covers
    out = []
    for r, row in enumerate(grid.rows):
        cells = list(row) + [Cell("", col) for col, end in covering.items() if end > r]
        out.append(sorted(cells, key=lambda c: c.col))
        covering.update({c.col: r + c.rowspan for c in row if c.rowspan > 1})
    return out


def _word_rows(grid: Grid) -> list[list[str]]:
    return [[c.text for c in row] for row in _word_cells(grid)]


def to_text(page: Page, mode: str) -> bytes:
    """mode: "indented" (tab + cell per line, empty line between rows), "tsv", or "lines"."""
    lines: list[str] = []
    for block in page.blocks:
        if isinstance(block, Para):
            if block.kind != "break":
                lines.append(block.text)
            elif mode != "lines":  # an empty line there would read as one more blank cell
                lines.append("")
            continue
        for row in _word_rows(block):
            if mode == "indented":
                lines += [f"\t{text}" for text in row] + [""]
            elif mode == "tsv":
                lines.append("\t".join(row))
            else:
                lines += row
    return ("\n".join(lines) + "\n").encode("utf-8")


_HTML_HEAD = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}_{agency}门户网站</title>
<style>body{{font-family:SimSun}} table{{border-collapse:collapse}} td,th{{border:1px solid #000}}</style>
<script>var _hmt = _hmt || []; /* <table> in a script is not a table */</script></head><body>
<div class="nav"><a href="/">首页</a> | <a href="/zwgk/">政务公开</a> | <a href="/zwgk/xxgk/">政府信息公开</a>
 | <a href="/zwgk/znnb/">政府信息公开年报</a> | <a href="/hdjl/">互动交流</a> | <a href="/wza/">无障碍浏览</a></div>
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/xxgk/">政府信息公开</a> &gt; 年度报告</div>
<div class="article">
"""
_HTML_FOOT = """</div>
<div class="footer"><p><a href="/about/">关于我们</a> | <a href="/map/">网站地图</a> | <a href="/contact/">联系我们</a></p>
<p>主办单位：{agency}　网站标识码：3302060001　ICP备案号：浙ICP备05012345号-1</p>
<p><a href="/print/">【打印本页】</a> <a href="javascript:window.close()">【关闭窗口】</a></p></div>
</body></html>
"""


def _html_table(grid: Grid, blanks: list[int]) -> str:
    """`blanks` counts empty cells across the page so every other one is written as &nbsp;."""
    out = ['<table border="1" cellspacing="0" cellpadding="0" style="width:100%"><tbody>']
    for r, row in enumerate(grid.rows):
        tag = "th" if r < grid.header else "td"
        tds = []
        for cell in row:
            spans = "".join(f' {name}="{n}"' for name, n in (("rowspan", cell.rowspan), ("colspan", cell.colspan))
                            if n > 1)
            if cell.text:
                body = f'<p style="text-align:center"><span>{html.escape(cell.text)}</span></p>'
            else:
                blanks[0] += 1
                body = "&nbsp;" if blanks[0] % 2 else ""
            tds.append(f"<{tag}{spans}>{body}</{tag}>")
        out.append(f"<tr>{''.join(tds)}</tr>")
    return "\n".join(out + ["</tbody></table>"])


def to_html(page: Page) -> bytes:
    parts = [_HTML_HEAD.format(title=html.escape(page.title), agency=html.escape(page.agency))]
    blanks = [0]
    tags = {"title": "h1", "heading": "h3", "text": "p", "furniture": "p"}
    for block in page.blocks:
        if isinstance(block, Grid):
            parts.append(_html_table(block, blanks))
        elif block.kind == "break":
            parts.append('<div style="page-break-after:always"></div>')
        else:
            tag = tags[block.kind]
            parts.append(f"<{tag}>{html.escape(block.text)}</{tag}>")
            if block.kind == "title":  # the date line under it holds a year that is not the report's
                parts.append(f'<div class="info">发布日期：{page.year + 1}-01-28　来源：{html.escape(page.agency)}'
                             '　浏览次数：1024</div>')
    parts.append(_HTML_FOOT.format(agency=html.escape(page.agency)))
    return "\n".join(parts).encode("utf-8")


def _docx_table(document, grid: Grid) -> None:
    n_cols = max(c.col + c.colspan for row in grid.rows for c in row)
    table = document.add_table(rows=len(grid.rows), cols=n_cols)
    table.style = "Table Grid"
    # Taken once before merging: table.cell() rescans the whole table on every call. Merges touch
    # only their own region, so the cells of the other regions stay valid.
    cells = [table.rows[r].cells for r in range(len(grid.rows))]
    for r, row in enumerate(grid.rows):
        for cell in row:
            target = cells[r][cell.col]
            if cell.rowspan > 1 or cell.colspan > 1:
                target = target.merge(cells[r + cell.rowspan - 1][cell.col + cell.colspan - 1])
            target.text = cell.text


def to_docx(page: Page) -> bytes:
    document = docx.Document()
    for block in page.blocks:
        if isinstance(block, Grid):
            _docx_table(document, block)
        elif block.kind == "break":
            # Also keeps two tables apart: Word joins tables that touch.
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        else:
            document.add_paragraph(block.text, style="Title" if block.kind == "title" else None)
    out = io.BytesIO()
    document.save(out)
    return _without_timestamps(out.getvalue())


def _without_timestamps(package: bytes) -> bytes:
    """The same file every time: zip entries carry the time they were written, which differs
    between two renders that straddle a two-second tick on a slow machine."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0)), source.read(item),
                            compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


LAYOUTS = {
    "html": (to_html, "html"),
    "docx": (to_docx, "docx"),
    "text_indented": (lambda page: to_text(page, "indented"), "txt"),
    "text_tsv": (lambda page: to_text(page, "tsv"), "txt"),
    "text_lines": (lambda page: to_text(page, "lines"), "txt"),
}


def render(gold: dict, layout: str, style: Style = Style()) -> tuple[bytes, str]:
    """The gold report printed in `layout` under `style`: file bytes and a file name with its extension."""
    return write(build_page(gold, style), layout, gold.get("id", "report"))


def write(page: Page, layout: str, name: str) -> tuple[bytes, str]:
    writer, extension = LAYOUTS[layout]
    return writer(page), f"{name}.{layout}.{extension}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render a gold report into another layout.")
    parser.add_argument("gold", type=Path, help="path to gold.json")
    parser.add_argument("--layout", choices=sorted(LAYOUTS), default="html")
    parser.add_argument("--perturb", action="append", choices=sorted(PERTURBATIONS), default=[])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--out", type=Path, help="output file (default: the generated name)")
    args = parser.parse_args(argv)
    style = replace(combine(*(PERTURBATIONS[name] for name in args.perturb)), seed=args.seed)
    data, name = render(json.loads(args.gold.read_text("utf-8")), args.layout, style)
    (args.out or Path(name)).write_bytes(data)


if __name__ == "__main__":
    main()
