"""Extract: Document → Report. Public entry point: `extract`."""

from __future__ import annotations

from service.document import Document
from service.extract.meta import (
    agency_in_opening,
    detect_template,
    find_agency,
    find_title,
    find_year,
    issuer_region,
)
from service.extract.sections import find_headings, section_texts
from service.extract.tables import TableReader
from service.registry import TABLE_NAMES, TABLES, Template
from service.report import Meta, Report, TableStatus, UnplacedRow

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
    agency = find_agency(title) or agency_in_opening(document)
    return Report(
        meta=Meta(year=year, agency=agency, template=template.id, title=title,
                  region=issuer_region(agency, document)),
        fields=fields,
        sections=section_texts(document, headings, _tables_end(reader)),
        missing=[key for key in template.keys if key not in reader.fields],
        incomplete=_incomplete(template, fields, reader.unplaced, {h.section.key for h in headings}),
        unplaced=reader.unplaced,
        warnings=reader.warnings,
    )


_SECTION_OF = {"t2": "proactive", "t3": "requests", "t4": "review_litigation"}


def _incomplete(template: Template, fields: dict, unplaced: list[UnplacedRow], sections: set[str]) -> list[TableStatus]:
    """Each table not read whole, with why: rows whose labels no template row fits, a section
    without table rows, or no trace of the table at all. Missing cells stay missing, never 0."""
    out = []
    for table in TABLES:
        keys = [key for key in template.keys if key.startswith(f"{table}.")]
        read = sum(key in fields and not fields[key].unread for key in keys)
        if read == len(keys):
            continue
        name = TABLE_NAMES[table]
        rows = [row for row in unplaced if row.table == table]
        unread = sum(key in fields and fields[key].unread for key in keys)
        if unread:
            reason = f"{name}有 {unread} 个单元格未能从图像中识别，请对照原图填写"
        elif rows:
            reason = f"{name}有 {len(rows)} 行数字未能按模板对上行（如“{rows[0].label or '无行名'}”：{rows[0].reason}）"
        elif read:
            reason = f"{name}只读出 {read}/{len(keys)} 个单元格，其余未印出或未能对上"
        elif _SECTION_OF[table] in sections:
            reason = f"找到{name}所在章节，但其中没有能按模板读出的表格行"
        else:
            reason = f"文中未找到{name}（没有它的章节标题、表头或行名）"
        out.append(TableStatus(table=table, name=name, read=read, expected=len(keys), reason=reason))
    return out


def _tables_end(reader: TableReader) -> int | None:
    """Where the last table cell read ends in Document.text."""
    ends = [f.provenance.location.end for f in reader.fields.values()
            if f.provenance and f.provenance.location.end is not None]
    return max(ends, default=None)
