"""Terminal view of findings."""

from __future__ import annotations

from rich.console import Console

from service.check.model import CAUSE_LABELS, Finding

_STYLE = {"error": ("red", "错误"), "warning": ("yellow", "警告"), "info": ("cyan", "提示")}


def print_findings(findings: list[Finding], console: Console) -> None:
    if not findings:
        console.print("[green]未发现问题[/green]")
        return
    shown: set[str] = set()
    for finding in findings:
        colour, word = _STYLE[finding.severity]
        console.print(f"[{colour}]{word}[/{colour}] [dim]{finding.rule}[/dim] {finding.message}", highlight=False)
        for suggestion in finding.suggestions:
            if suggestion.reason in shown:
                continue  # one cluster's repairs are shared by its findings: print them once
            shown.add(suggestion.reason)
            cause = f"[{CAUSE_LABELS[suggestion.cause]}]" if suggestion.cause else ""
            console.print(f"    建议：{suggestion.reason} {cause}", highlight=False)
    counts = {w: sum(f.severity == s for f in findings) for s, (_, w) in _STYLE.items()}
    console.print("共 " + "，".join(f"{w} {n} 条" for w, n in counts.items() if n), highlight=False)
