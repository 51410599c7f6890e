"""What the model is doing, on a rich console (the command line's stderr): a spinner with the
latest step on a terminal, one line a step elsewhere (a log, a pipe)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status


class ConsoleProgress:
    """`console` is made on the first step, so a report the rules read whole loads no rich."""

    def __init__(self, console: Callable[[], "Console"]) -> None:
        self._console = console
        self.status: "Status | None" = None

    def __call__(self, text: str) -> None:
        console = self._console()
        if not console.is_terminal:
            console.print(text, highlight=False)
        elif self.status is None:
            self.status = console.status(text)
            self.status.start()
        else:
            self.status.update(text)

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None
