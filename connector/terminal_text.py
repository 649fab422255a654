"""Text for a terminal, as the demo and the CLI's lists write it: aligned tables, money with its currency, counts
in words.

Plain text for a terminal (no colours, no dependency): each column as wide as its widest cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

INDENT = "  "


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = INDENT) -> list[str]:
    """The rows under their headers, every column padded to its widest cell (the last one left ragged)."""
    cells = [[str(h) for h in headers], *[["-" if c is None or c == "" else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return [(indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))).rstrip()
            for row in cells]


def money(amount: Any, currency: str | None) -> str:
    """``4,800,000 USD``; cents only when there are some; ``-`` when there is no amount."""
    if amount is None or amount == "":
        return "-"
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return f"{amount} {currency or ''}".strip()
    text = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return f"{text} {currency or ''}".strip()


def revenue(item: Mapping[str, Any]) -> str:
    """A request's revenue impact as money."""
    impact = item.get("revenue_impact") or {}
    return money(impact.get("amount"), impact.get("currency"))


def grants(values: Mapping[str, Any]) -> str:
    """Granted boundaries in words: ``seats 105; regions EMEA, APAC``."""
    parts = []
    for name, value in values.items():
        shown = ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
        parts.append(f"{name.replace('_', ' ')} {shown}")
    return "; ".join(parts) or "-"


def count(number: int, one: str, many: str) -> str:
    """``no internal notes``, ``1 internal note``, ``2 internal notes``."""
    if number == 0:
        return f"no {many}"
    return f"{number} {one if number == 1 else many}"


def label(value: str | None) -> str:
    """An enum value as words: ``needs_info`` → ``needs info``."""
    return (value or "-").replace("_", " ")
