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
    console.print("[bold]检查[/bold]")
    for check in result.checks:
        mark = "[green]✓[/green]" if check.passed else "[red]✗[/red]"
        console.print(f"  {mark} {check.message}", highlight=False, soft_wrap=True)
