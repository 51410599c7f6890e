"""Terminal view of a draft: its label, the text, what it cites, and the checks it passed."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from service.draft import Draft


def print_draft(result: Draft, console: Console) -> None:
    console.print(f"[yellow]{result.label}[/yellow]", highlight=False, soft_wrap=True)
    console.print()
    console.print(escape(result.draft), highlight=False, soft_wrap=True)
    console.print()
    console.print("[bold]引用[/bold]")
    for citation in result.citations:
        console.print(f"  \\[{citation.id}] {escape(citation.text)}", highlight=False, soft_wrap=True)
    if result.examples:
        console.print("[bold]检索到的往年第五部分（供参考）[/bold]")
        for example in result.examples:
            who = "本机关" if example.kind == "own" else "同类机关"
            first = example.text.replace("\n", "")[:60]
            console.print(f"  \\[{example.id}] {who} {example.agency} {example.year or ''} 年：{escape(first)}…",
                          highlight=False, soft_wrap=True)
    if result.problems:
        console.print("[bold]所列问题的依据[/bold]")
        basis = {"figures": "本年数据", "earlier_report": "本机关往年报告", "common": "常见问题，无数据依据，请核实"}
        for problem in result.problems:
            cites = f"（{'、'.join(problem.cites)}）" if problem.cites else ""
            console.print(f"  {problem.name}：{basis[problem.basis]}{cites}", highlight=False, soft_wrap=True)
    summed = [f for f in result.figures if f.how == "summed"]
    if summed:
        console.print("[bold]总计栏空白、按分项相加的数字[/bold]")
        for figure in summed:
            console.print(f"  {figure.key} = {figure.value}（{len(figure.parts)} 项）", highlight=False, soft_wrap=True)
    console.print("[bold]检查[/bold]")
    for check in result.checks:
        mark = "[green]✓[/green]" if check.passed else "[red]✗[/red]"
        console.print(f"  {mark} {check.message}", highlight=False, soft_wrap=True)
    for check in (c for c in result.llm_checks if not c.passed):
        console.print(f"  [red]✗[/red] 大模型草稿：{check.message}", highlight=False, soft_wrap=True)
