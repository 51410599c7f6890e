"""Loaders: encodings, grids with spans, layout tables, merged Word cells, pipe tables."""

from __future__ import annotations

import io

import docx
import pytest

from service.extract import extract
from service.ingest import IngestError, load
from tests.conftest import ROOT, provenance

BEILUN = ROOT.parent / "shared" / "gold" / "beilun-development-2020" / "source.txt"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_text_encodings_give_the_same_report(encoding) -> None:
    text = BEILUN.read_text("utf-8").replace("\xa0", " ")  # GBK has no NBSP
    reference = extract(load(text.encode("utf-8"), "r.txt")).flat()
    assert extract(load(text.encode(encoding), "r.txt")).flat() == reference


def test_text_keeps_every_printed_line_with_its_span_and_drops_page_furniture() -> None:
    text = ("某局2021年政府信息公开工作年度报告\n\t信息内容\n\t本年新\n制作数量\n\n\t规章\n\t1\n"
            "- 2 -\n某局2021年政府信息公开工作年度报告\n\t2\n\t3\n## 五、存在的主要问题及改进情况\n")
    document = load(text.encode(), "r.txt")
    assert [p.text for p in document.paragraphs] == ["某局2021年政府信息公开工作年度报告", "信息内容", "本年新", "制作数量",
                                                     "规章", "1", "2", "3", "五、存在的主要问题及改进情况"]
    assert document.tables == []  # the grid is rebuilt by extract, from the template
    for paragraph in document.paragraphs:
        assert document.text[paragraph.location.start:paragraph.location.end] == paragraph.text


def test_text_cells_point_at_the_printed_numbers() -> None:
    document = load(BEILUN.read_bytes(), "r.txt")
    report = extract(document)
    assert report.fields, "the Word paste of beilun reads"
    for key, field in report.fields.items():
        location = provenance(field).location
        assert document.text[location.start:location.end] == provenance(field).raw, key


def test_html_walks_layout_tables_and_resolves_spans() -> None:
    page = """<html><head><meta charset="gbk"><title>站点</title></head><body>
    <table><tr><td><a href="/">首页</a> &gt; 信息公开</td></tr>
    <tr><td><div class="title">某局2021年度政府信息公开工作年度报告</div>
      <table border="1">
        <tr><td rowspan="2">甲</td><td colspan="2">乙</td></tr>
        <tr><td>1&nbsp;</td><td>２</td></tr>
      </table></td></tr></table><script>var x = "<table>";</script></body></html>"""
    document = load(page.encode("gbk"), "page.html")
    assert document.title == "站点"
    assert [p.text for p in document.paragraphs] == ["首页 > 信息公开", "某局2021年度政府信息公开工作年度报告"]
    (table,) = document.tables
    assert [(c.text, c.row, c.col, c.rowspan, c.colspan) for row in table.rows for c in row] == [
        ("甲", 0, 0, 2, 1), ("乙", 0, 1, 1, 2), ("1", 1, 1, 1, 1), ("２", 1, 2, 1, 1)]
    for cell in table.rows[1]:
        assert document.text[cell.location.start:cell.location.end] == cell.text


def _docx_bytes(build) -> bytes:
    word = docx.Document()
    build(word)
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def test_docx_reads_merged_cells_once_with_their_spans() -> None:
    def build(word):
        word.add_paragraph("标题")
        table = word.add_table(rows=3, cols=3)
        table.cell(0, 0).merge(table.cell(2, 0)).text = "组"
        table.cell(0, 1).merge(table.cell(0, 2)).text = "头"
        for r in (1, 2):
            table.cell(r, 1).text, table.cell(r, 2).text = str(r), str(r * 10)

    document = load(_docx_bytes(build), "r.docx")
    (table,) = document.tables
    cells = [(c.text, c.row, c.col, c.rowspan, c.colspan) for row in table.rows for c in row]
    assert cells == [("组", 0, 0, 3, 1), ("头", 0, 1, 1, 2), ("1", 1, 1, 1, 1), ("10", 1, 2, 1, 1),
                     ("2", 2, 1, 1, 1), ("20", 2, 2, 1, 1)]
    assert document.paragraphs[0].location.source_index == 0 and table.location.source_index == 0


def test_markdown_pipe_tables() -> None:
    source = "# 标题\n\n正文一段。\n\n| 项目 | 数量 |\n|---|---|\n| 规章 | 3 |\n| 规范性文件 |  |\n"
    document = load(source.encode(), "r.md")
    assert [p.text for p in document.paragraphs] == ["标题", "正文一段。"]
    assert [[c.text for c in row] for row in document.tables[0].rows] == [["项目", "数量"], ["规章", "3"],
                                                                          ["规范性文件", ""]]


@pytest.mark.parametrize("data, name, message", [
    (b"", "r.txt", "文件为空"),
    (bytes(range(256)) * 64, "r.txt", "二进制"),
    (b"PK\x03\x04 broken", "r.docx", "已损坏"),
    (b"hello", "r.xyz", "不支持的文件类型"),
    (b"%PDF-1.7 truncated", "r.pdf", "PDF 文件已损坏"),
])
def test_bad_input_raises_a_chinese_message(data, name, message) -> None:
    with pytest.raises(IngestError) as caught:
        load(data, name)
    assert message in caught.value.message
