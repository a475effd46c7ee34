"""How the report writes numbers and changes: one owner for every cell, caption and sentence."""

from __future__ import annotations

from compsafe.report.data.catalogue import Metric
from compsafe.report.data.cells import Cell


def fmt(value: float | None, digits: int = 3) -> str:
    """A number as the report writes it: fixed digits, one decimal from 100 up; '-' if none."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"


def signed_change(cell: Cell) -> str:
    """'+0.123*': the change vs dense, `*` when it is significant."""
    sign = "+" if cell.delta >= 0 else ""
    return f"{sign}{fmt(cell.delta)}{'*' if cell.significant else ''}"


def change_interval(cell: Cell) -> str:
    """'[low, high]': the 95 % interval of the change vs dense ('-' without one)."""
    if cell.delta_interval is None:
        return "-"
    return f"[{fmt(cell.delta_interval[1])}, {fmt(cell.delta_interval[2])}]"


def tone(metric: Metric, cell: Cell | None) -> str:
    """worse | better | neutral (no agreed reading of the direction) | '' (no change)."""
    if cell is None or not cell.delta:
        return ""
    if metric.higher_is_worse is None:
        return "neutral"
    return "worse" if (cell.delta > 0) == metric.higher_is_worse else "better"


def items_text(cells: list[Cell | None]) -> str:
    """'60 items' or '15-21 items' (paired with dense where compared), for a caption."""
    counts = sorted({c.n_paired or c.n_items for c in cells if c and (c.n_paired or c.n_items)})
    if not counts:
        return "items not kept"
    return f"{counts[0]}" + (f"-{counts[-1]}" if counts[-1] != counts[0] else "") + " items"
