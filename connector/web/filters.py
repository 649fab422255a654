"""How values read on a page: times in UTC, SLA clocks in days and hours, snake_case as words."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from flask import Flask

from connector.governance.communications import summarize_terms
from connector.models import utcnow


def when(value: datetime | date | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def span(seconds: float) -> str:
    """``2 d 3 h``, ``5 h 10 min``, ``12 min``: precise enough to act on, short enough to scan."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


def sla_clock(due_at: datetime | None, state: str, now: datetime | None = None) -> str:
    if due_at is None or state != "in_review":
        return "—"
    left = (due_at - (now or utcnow())).total_seconds()
    return f"due in {span(left)}" if left >= 0 else f"overdue by {span(left)}"


def words(value: Any) -> str:
    return str(value or "").replace("_", " ")


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def hours(value: float | None) -> str:
    """A duration in a unit that fits it: ``25 min``, ``5.5 h``, ``3.2 d`` (never ``0.0 h``)."""
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 60:.0f} min"
    if value > 72:
        return f"{value / 24:.1f} d"
    return f"{value:.1f} h"


def install(app: Flask) -> None:
    """Filters under a ``lec_`` prefix so a host app's own filters are never shadowed."""
    for name, fn in {"when": when, "sla_clock": sla_clock, "words": words, "json": pretty_json,
                     "terms": summarize_terms, "percent": percent, "hours": hours}.items():
        app.jinja_env.filters[f"lec_{name}"] = fn
