"""Placing cells with row and column spans on a grid, shared by the HTML and DOCX loaders."""

from __future__ import annotations

from service.document import Cell


def place(rows: list[list[tuple[str, int, int]]]) -> list[list[Cell]]:
    """(text, rowspan, colspan) per cell, row by row → cells with their grid column.

    A cell goes to the first column not covered by a rowspan from above, as browsers lay it out.
    """
    covered: dict[tuple[int, int], bool] = {}
    out: list[list[Cell]] = []
    for r, row in enumerate(rows):
        col, cells = 0, []
        for text, rowspan, colspan in row:
            while covered.get((r, col)):
                col += 1
            cells.append(Cell(text=text, row=r, col=col, rowspan=rowspan, colspan=colspan))
            for dr in range(rowspan):
                for dc in range(colspan):
                    covered[(r + dr, col + dc)] = True
            col += colspan
        out.append(cells)
    return out
