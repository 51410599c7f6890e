"""Extract: Document → Report. Public entry point: `extract`."""

from __future__ import annotations

from service.document import Document
from service.extract.meta import detect_template, find_agency, find_title, find_year
from service.extract.sections import find_headings, section_texts
from service.extract.tables import TableReader
from service.report import Meta, Report

__all__ = ["NotAReportError", "extract"]


class NotAReportError(ValueError):
    """The document holds none of the template's sections or tables."""

    message = "未识别到政府信息公开工作年度报告的内容（没有找到报告的章节或表格）"


def extract(document: Document) -> Report:
    headings = find_headings(document)
    title = find_title(document, headings)
    year = find_year(title, document)
    template = detect_template(document, year)
    reader = TableReader(template)
    reader.read(document)
    if not reader.fields and len(headings) < 2:
        raise NotAReportError(NotAReportError.message)
    fields = {key: reader.fields[key] for key in template.keys if key in reader.fields}
    return Report(
        meta=Meta(year=year, agency=find_agency(title), template=template.id, title=title),
        fields=fields,
        sections=section_texts(document, headings, _tables_end(reader)),
        missing=[key for key in template.keys if key not in reader.fields],
        unplaced=reader.unplaced,
        warnings=reader.warnings,
    )


def _tables_end(reader: TableReader) -> int | None:
    """Where the last table cell read ends in Document.text."""
    ends = [f.provenance.location.end for f in reader.fields.values()
            if f.provenance and f.provenance.location.end is not None]
    return max(ends, default=None)
