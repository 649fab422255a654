"""The sandbox's ticket counts: ``GET /api/v2/tickets/count`` and the slice of ``GET /api/v2/search/count`` a sync
asks for (``type:ticket`` with ``updated`` compared to a date or an ISO 8601 time).

A query outside that slice is refused in Zendesk's error shape (422 ``invalid``) rather than answered wrongly, so a
test never passes on a count the real search would not give.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta

from .sandbox_http import JSON, ApiError, invalid

#: ``updated`` compared to a date (``2026-01-31``) or a time (``2026-01-31T10:00:00Z``, ``…+02:00``)
_UPDATED = re.compile(r"updated(>=|<=|>|<|:)(\S+)")
_DAY = timedelta(days=1)


def _moment(text: str) -> tuple[datetime, bool]:
    """An aware UTC datetime, and whether the text named a whole day (a date without a time)."""
    try:
        if "T" not in text:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC), True
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _unparsable(f"{text!r} is neither a date (2026-01-31) nor an ISO 8601 time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC), False


def _condition(operator: str, text: str) -> Callable[[datetime], bool]:
    """``updated <operator> text``; a date means its whole day: ``>`` is after it, ``<=`` up to its end."""
    start, whole_day = _moment(text)
    end = start + _DAY if whole_day else start
    if operator == ">":
        return lambda at: at >= end if whole_day else at > start
    if operator == ">=":
        return lambda at: at >= start
    if operator == "<":
        return lambda at: at < start
    if operator == "<=":
        return lambda at: at < end if whole_day else at <= start
    return lambda at: start <= at < end if whole_day else at == start


def _unparsable(reason: str) -> ApiError:
    return invalid(f"Invalid search query: {reason}.", status=422, error="invalid")


def ticket_filter(query: str) -> Callable[[JSON], bool]:
    """Which tickets a search query selects (deleted tickets are never found by search)."""
    terms = query.split()
    if "type:ticket" not in terms:
        raise _unparsable("the sandbox only counts tickets: add type:ticket")
    conditions: list[Callable[[datetime], bool]] = []
    for term in terms:
        if term == "type:ticket":
            continue
        match = _UPDATED.fullmatch(term)
        if match is None:
            raise _unparsable(f"the sandbox understands type:ticket and updated<op><date or time>, not {term!r}")
        conditions.append(_condition(match.group(1), match.group(2)))

    def selected(ticket: JSON) -> bool:
        if ticket.get("status") == "deleted":
            return False
        updated = datetime.fromisoformat(str(ticket["updated_at"]).replace("Z", "+00:00"))
        return all(condition(updated) for condition in conditions)

    return selected


def tickets_count(tickets: Iterable[JSON], now: float) -> JSON:
    """``GET /api/v2/tickets/count``: the tickets not deleted, counted now."""
    value = sum(1 for ticket in tickets if ticket.get("status") != "deleted")
    refreshed = datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"count": {"value": value, "refreshed_at": refreshed}}


def search_count(tickets: Iterable[JSON], query: str | None) -> JSON:
    """``GET /api/v2/search/count?query=…``: ``{"count": N}``."""
    if not query or not query.strip():
        raise invalid("Invalid search query: a query is required.", error="invalid")
    selected = ticket_filter(query)
    return {"count": sum(1 for ticket in tickets if selected(ticket))}
