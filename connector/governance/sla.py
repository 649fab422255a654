"""SLA clocks in business time (SPEC §2.4 "SLA and escalation").

Each track has a time-to-decide in business days counted from the moment a request is complete. A business
day is a whole UTC calendar day (24 hours) that is neither a Saturday, a Sunday nor a policy holiday, so
``0.5`` business days is 12 hours of business time. The worker asks :func:`sla_events` what is due and
records what it did on the clock, which makes every reminder and escalation happen exactly once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

_DAY = timedelta(days=1)

SlaEventKind = Literal["sla.reminder", "sla.escalated"]


def holiday_dates(values: Iterable[date | str] | None) -> frozenset[date]:
    """Normalise policy holidays: YAML gives ``date`` objects for bare ISO dates and ``str`` when quoted."""
    dates: set[date] = set()
    for value in values or ():
        if isinstance(value, datetime):
            dates.add(value.date())
        elif isinstance(value, date):
            dates.add(value)
        else:
            dates.add(date.fromisoformat(str(value).strip()))
    return frozenset(dates)


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (UTC), got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _is_business_day(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _next_business_midnight(day: date, holidays: Collection[date]) -> datetime:
    """00:00 UTC of the first business day strictly after ``day``."""
    day += _DAY
    while not _is_business_day(day, holidays):
        day += _DAY
    return _midnight(day)


def add_business_days(start: datetime, days: float, holidays: Collection[date | str] = ()) -> datetime:
    """The moment ``days`` of business time after ``start``.

    A start outside business time counts from the next business day at 00:00 UTC. When the time runs out
    exactly at the end of a business day the result is that day's end (the following midnight), the
    earliest moment the deadline is reached.
    """
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    closed = holiday_dates(holidays)
    cursor = _as_utc(start, "start")
    if not _is_business_day(cursor.date(), closed):
        cursor = _next_business_midnight(cursor.date(), closed)
    remaining = timedelta(days=days)
    while True:
        available = _midnight(cursor.date()) + _DAY - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
        cursor = _next_business_midnight(cursor.date(), closed)


def business_days_between(start: datetime, end: datetime, holidays: Collection[date | str] = ()) -> float:
    """Business time from ``start`` to ``end`` in business days (negative when ``end`` is earlier)."""
    start, end = _as_utc(start, "start"), _as_utc(end, "end")
    if end < start:
        return -business_days_between(end, start, holidays)
    closed = holiday_dates(holidays)
    total = timedelta(0)
    cursor = start
    while cursor < end:
        segment_end = min(end, _midnight(cursor.date()) + _DAY)
        if _is_business_day(cursor.date(), closed):
            total += segment_end - cursor
        cursor = segment_end
    return total / _DAY


def _track_days(track: str, sla_policy: Mapping[str, Any]) -> float:
    settings = sla_policy.get(track)
    if not isinstance(settings, Mapping) or "business_days" not in settings:
        raise ValueError(f"the SLA policy has no business_days for track {track!r}")
    return float(settings["business_days"])


def due_at(completed_at: datetime, track: str, sla_policy: Mapping[str, Any]) -> datetime:
    """When a request completed at ``completed_at`` on ``track`` must be decided (policy ``sla`` section)."""
    return add_business_days(
        completed_at, _track_days(track, sla_policy), holiday_dates(sla_policy.get("holidays"))
    )


def reminder_at(completed_at: datetime, due: datetime, sla_policy: Mapping[str, Any]) -> datetime:
    """When reviewers are reminded: ``reminder_fraction`` of the business time between completion and due."""
    fraction = float(sla_policy.get("reminder_fraction", 0.5))
    if not 0 <= fraction <= 1:
        raise ValueError(f"reminder_fraction must be between 0 and 1, got {fraction}")
    holidays = holiday_dates(sla_policy.get("holidays"))
    span = max(business_days_between(completed_at, due, holidays), 0.0)
    return add_business_days(completed_at, span * fraction, holidays)


@dataclass(frozen=True)
class SlaClock:
    """What is stored about one request's SLA: when it started, when it is due and what was already done."""

    completed_at: datetime
    due_at: datetime
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class SlaEvent:
    """Something the worker must do now; ``at`` is when it became due (the reminder time or the due time)."""

    kind: SlaEventKind
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


def is_overdue(clock: SlaClock, now: datetime) -> bool:
    """Undecided past the due time. A decided request is never overdue, however late it was decided."""
    return clock.decided_at is None and _as_utc(now, "now") > _as_utc(clock.due_at, "due_at")


def sla_events(clock: SlaClock, now: datetime, sla_policy: Mapping[str, Any]) -> list[SlaEvent]:
    """The reminder or escalation due at ``now`` and not yet done; nothing once the request is decided.

    An escalation supersedes a reminder that was never sent (e.g. the worker was down until after the due
    time), so reviewers get one message, not two at once.
    """
    if clock.decided_at is not None:
        return []
    now = _as_utc(now, "now")
    due = _as_utc(clock.due_at, "due_at")
    if now > due:
        if clock.escalated_at is not None:
            return []
        overdue_hours = (now - due).total_seconds() / 3600
        return [
            SlaEvent(
                kind="sla.escalated",
                at=due,
                detail={
                    "due_at": due.isoformat(),
                    "overdue_by_hours": round(overdue_hours, 2),
                    "escalation_contact": sla_policy.get("escalation_contact"),
                },
            )
        ]
    if clock.reminded_at is not None:
        return []
    remind = reminder_at(clock.completed_at, due, sla_policy)
    if now < remind:
        return []
    left = business_days_between(now, due, holiday_dates(sla_policy.get("holidays")))
    return [
        SlaEvent(
            kind="sla.reminder",
            at=remind,
            detail={
                "due_at": due.isoformat(),
                "reminder_at": remind.isoformat(),
                "business_hours_left": round(left * 24, 2),
            },
        )
    ]
