"""Terminal view of a Report's three tables, laid out from the registry."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from service.registry import TABLE_TITLES, registry
from service.report import Report


def _cell(report: Report, key: str) -> str:
    field = report.fields.get(key)
    if field is None:
        return "[red]?[/red]"
    return "" if field.value is None else str(field.value)


def print_report(report: Report, console: Console) -> None:
    reg = registry()
    template = reg.template(report.meta.template)
    console.print(f"[bold]{report.meta.agency or '（未识别机关）'} {report.meta.year or '？'} 年度报告[/bold]"
                  f"  模板 {template.id}（{template.label}）")
    t2 = Table(title=TABLE_TITLES["t2"], show_lines=False)
    t2.add_column("项目")
    t2.add_column("数值")
    for row in template.table2_rows:
        t2.add_row(row.label, "  ".join(f"{c.label}: {_cell(report, f't2.{row.key}.{c.key}')}" for c in row.columns))
    console.print(t2)
    t3 = Table(title=TABLE_TITLES["t3"])
    t3.add_column("")
    for column in reg.table3_columns:
        t3.add_column(column.label, justify="right")
    for row3 in template.table3_rows:
        t3.add_row(row3.label, *(_cell(report, f"t3.{row3.key}.{c.key}") for c in reg.table3_columns))
    console.print(t3)
    t4 = Table(title=TABLE_TITLES["t4"])
    t4.add_column("")
    for outcome in reg.table4_outcomes:
        t4.add_column(outcome.label, justify="right")
    for group in reg.table4_groups:
        t4.add_row(group.label, *(_cell(report, f"t4.{group.key}.{o.key}") for o in reg.table4_outcomes))
    console.print(t4)
