"""What the rules left open for the model: asked of every report, so it imports nothing of the chain,
the checker or a model client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.registry import Label, registry

if TYPE_CHECKING:
    from service.report import Report


def needs_llm(report: Report) -> bool:
    """Rules left work the model can do: rows they could not place, tables printed only as prose, or
    a title that does not name the body or the year."""
    return bool(mappable_rows(report) or stated_keys(report) or missing_meta(report))


def row_candidates(report: Report, table: str | None) -> dict[str, tuple[Label, list[str]]]:
    """Unfilled template rows: key → (row label, field keys in column order)."""
    template = registry().template(report.meta.template)
    rows: dict[str, tuple[Label, list[str]]] = {}
    for spec in template.fields.values():
        if table and spec.table != table:
            continue
        rows.setdefault(f"{spec.table}.{spec.row.key}", (spec.row, []))[1].append(spec.key)
    return {k: v for k, v in rows.items() if not any(key in report.fields for key in v[1])}


def mappable_rows(report: Report) -> list:
    """Unplaced rows worth asking about: not the other template's layout (a mix-up, not drift)."""
    if not report.unplaced:
        return []
    from service.check.template import other_template_row

    template = registry().template(report.meta.template)
    return [row for row in report.unplaced
            if row_candidates(report, row.table) and not other_template_row(row.label, template)]


def stated_keys(report: Report) -> list[str]:
    """Fields of tables the report does not print at all, which its prose may state. A table that
    is printed keeps its gaps for map_rows and people."""
    template = registry().template(report.meta.template)
    printed = {template.fields[k].table for k in report.fields}
    return [k for k in report.missing if template.fields[k].table not in printed]


def missing_meta(report: Report) -> list[str]:
    return [name for name in ("agency", "year") if getattr(report.meta, name) is None]


_TABLE_NAMES = {"t2": "表二（主动公开）", "t3": "表三（依申请公开）", "t4": "表四（复议诉讼）"}
_META_NAMES = {"agency": "机关名称", "year": "年度"}


def prose_tables(report: Report) -> list[str]:
    """The tables whose fields are left to prose: printed only in sentences, or not rebuilt by the rules."""
    template = registry().template(report.meta.template)
    return sorted({template.fields[k].table for k in stated_keys(report)})


def describe(report: Report, tables: list[str] | None = None, rows: bool = True, meta: bool = True) -> str:
    """What the rules left open, in Chinese: "表二（主动公开）24 个字段、2 行行名未对应模板"."""
    template = registry().template(report.meta.template)
    parts = []
    if meta:
        parts += [_META_NAMES[name] for name in missing_meta(report)]
    if rows and (unplaced := mappable_rows(report)):
        parts.append(f"{len(unplaced)} 行行名未对应模板（" + "、".join(f"“{r.label}”" for r in unplaced[:3])
                     + ("等" if len(unplaced) > 3 else "") + "）")
    for table in tables if tables is not None else prose_tables(report):
        count = sum(1 for k in report.missing if template.fields[k].table == table)
        parts.append(f"{_TABLE_NAMES.get(table, table)} {count} 个字段")
    return "、".join(parts)


NEEDS_ENDPOINT = "请配置大模型端点 NIANBAO_LLM_*"


def small_tasks(report: Report) -> bool:
    """Work a small model may do: the body or the year, rows whose labels drifted."""
    return bool(missing_meta(report) or mappable_rows(report))


def small_model_note(report: Report) -> str:
    """Why the tables left to prose are not read with the bundled model."""
    return (f"{describe(report, prose_tables(report), rows=False, meta=False)}只以文字印出或规则未能还原表格，"
            f"本地小模型读不准，未读；{NEEDS_ENDPOINT}")
