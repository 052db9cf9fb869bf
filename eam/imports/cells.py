"""Spreadsheet cells: neutralising formulas on export, and reading them back on import.

OWASP "CSV injection": a cell a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) is written with a leading apostrophe, which
spreadsheets show as text. Reading a file back removes exactly that apostrophe, so an export
imports unchanged. EAM itself never evaluates a cell: every value is text.
"""

from __future__ import annotations

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def neutralise(value: str) -> str:
    """The cell as written to a file a person may open in a spreadsheet."""
    return ESCAPE + value if value.startswith(FORMULA_STARTS) else value


def restore(value: str) -> str:
    """The value a neutralised cell stands for (other cells unchanged)."""
    if value.startswith(ESCAPE) and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value
