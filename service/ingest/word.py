"""Word .docx files: body paragraphs and tables in order, merged cells (gridSpan, vMerge) resolved."""

from __future__ import annotations

import io

import docx
from docx.opc.exceptions import OpcError
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph as DocxParagraph

from service.document import Cell, Document, DocumentBuilder
from service.ingest.errors import DAMAGED_ZIP, IngestError

_P, _TBL, _SDT, _TR, _TC = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:tr"), qn("w:tc")


# what a damaged .docx raises inside python-docx: its zip damaged, a part missing (KeyError,
# OpcError), its XML broken (lxml's XMLSyntaxError is a SyntaxError)
_DAMAGED = (*DAMAGED_ZIP, KeyError, OpcError, SyntaxError)


def load(data: bytes) -> Document:
    try:
        word = docx.Document(io.BytesIO(data))
    except _DAMAGED as exc:
        raise IngestError("Word 文件已损坏或不是有效的 .docx 文件", f"python-docx failed: {exc!r}") from exc
    builder = DocumentBuilder("docx")
    counters = {"paragraph": 0, "table": 0}
    for element in _body_elements(word.element.body):
        if element.tag == _P:
            # python-docx types a paragraph's parent as required; .text reads only the XML
            text = DocxParagraph(element, None).text  # type: ignore[arg-type]
            builder.paragraph(text, source_index=counters["paragraph"])
            counters["paragraph"] += 1
        else:
            builder.table(_grid(element), source_index=counters["table"])
            counters["table"] += 1
    return builder.build(title=_title(word))


def _title(word) -> str | None:
    """The document's title property; a damaged properties part (read only now) gives none."""
    try:
        return word.core_properties.title or None
    except _DAMAGED:
        return None


def _body_elements(parent):
    """Paragraphs and tables in reading order, looking inside content controls."""
    for child in parent.iterchildren():
        if child.tag in (_P, _TBL):
            yield child
        elif child.tag == _SDT:
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _body_elements(content)


def _int_attr(element, path: str, default: int) -> int:
    found = element.find(path)
    value = found.get(qn("w:val")) if found is not None else None
    return int(value) if value and value.isdigit() else default


def _cell_text(tc) -> str:
    # python-docx types a paragraph's parent as required; .text reads only the XML
    return "".join(DocxParagraph(p, None).text for p in tc.iter(_P)).strip()  # type: ignore[arg-type]


def _grid(tbl) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    open_merges: dict[int, Cell] = {}  # grid column → the cell a vertical merge started in
    for r, tr in enumerate(tbl.iterchildren(_TR)):
        col = _int_attr(tr, f"{qn('w:trPr')}/{qn('w:gridBefore')}", 0)
        cells: list[Cell] = []
        for tc in tr.iterchildren(_TC):
            span = _int_attr(tc, f"{qn('w:tcPr')}/{qn('w:gridSpan')}", 1)
            merge = tc.find(f"{qn('w:tcPr')}/{qn('w:vMerge')}")
            if merge is not None and merge.get(qn("w:val")) != "restart" and col in open_merges:
                open_merges[col].rowspan += 1
            else:
                cell = Cell(text=_cell_text(tc), row=r, col=col, colspan=span)
                cells.append(cell)
                if merge is not None:
                    open_merges[col] = cell
                else:
                    open_merges.pop(col, None)
            col += span
        rows.append(cells)
    return rows
