"""SLA clocks: business time, reminders and escalations (SPEC §2.4 "SLA and escalation")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.governance.sla import (
    SlaClock,
    add_business_days,
    business_days_between,
    due_at,
    is_overdue,
    reminder_at,
    sla_events,
)

# Christmas, as YAML gives it: a bare date and a quoted one.
HOLIDAYS: list[date | str] = [date(2026, 12, 25), "2026-12-24"]
# The default policy's `sla` section, with those holidays.
SLA: dict[str, Any] = {
    "fast": {"business_days": 2},
    "standard": {"business_days": 10},
    "reminder_fraction": 0.5,
    "escalation_contact": "license-governance@example.com",
    "holidays": HOLIDAYS,
}


def at(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_whole_days_skip_the_weekend() -> None:
    friday_9am = at(27, 9)
    assert add_business_days(friday_9am, 1) == at(30, 9)  # Monday
    assert add_business_days(at(23, 9), 4) == friday_9am  # Monday + 4 stays in the week
    assert add_business_days(friday_9am, 2) == at(1, 9, month=12)  # Tuesday


def test_fractional_days_are_fractions_of_24_business_hours() -> None:
    assert add_business_days(at(27, 9), 0.5) == at(27, 21)
    assert add_business_days(at(27, 18), 0.5) == at(30, 6)  # 6h on Friday, 6h on Monday
    assert add_business_days(at(24, 10), 0.25) == at(24, 16)


def test_a_start_on_the_weekend_counts_from_monday_midnight() -> None:
    assert add_business_days(at(28, 15), 1) == at(1, 0, month=12)
    assert add_business_days(at(29, 23, 59), 0.5) == at(30, 12)
    assert add_business_days(at(28, 15), 0) == at(30, 0)


def test_time_running_out_at_the_end_of_friday_ends_friday() -> None:
    assert add_business_days(at(27, 0), 1) == at(28, 0)


def test_holidays_are_skipped_as_dates_or_iso_strings() -> None:
    wednesday = datetime(2026, 12, 23, 12, tzinfo=UTC)
    # Thu 24 and Fri 25 are holidays, then the weekend: Wednesday noon + 1 day = Monday 28 noon.
    assert add_business_days(wednesday, 1, HOLIDAYS) == datetime(2026, 12, 28, 12, tzinfo=UTC)
    assert add_business_days(wednesday, 1) == datetime(2026, 12, 24, 12, tzinfo=UTC)


def test_other_timezones_are_converted_and_naive_datetimes_refused() -> None:
    plus_two = timezone(timedelta(hours=2))
    # Saturday 01:00 at +02:00 is still Friday 23:00 UTC: one business hour left on Friday.
    start = datetime(2026, 11, 28, 1, tzinfo=plus_two)
    assert add_business_days(start, 1 / 24 + 1) == at(1, 0, month=12)
    assert add_business_days(start, 0).tzinfo == UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_days(datetime(2026, 11, 27, 9), 1)
    with pytest.raises(ValueError, match=">= 0"):
        add_business_days(at(27), -1)


def test_business_days_between_ignores_weekends_and_holidays() -> None:
    assert business_days_between(at(27, 12), at(30, 12)) == 1.0
    assert business_days_between(at(28, 0), at(30, 0)) == 0.0
    assert business_days_between(at(30, 12), at(27, 12)) == -1.0
    christmas_week = business_days_between(
        datetime(2026, 12, 21, tzinfo=UTC), datetime(2026, 12, 28, tzinfo=UTC), HOLIDAYS
    )
    assert christmas_week == 3.0


@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    days=st.floats(min_value=0, max_value=30, allow_nan=False).map(lambda d: round(d, 3)),
)
def test_business_days_between_inverts_add_business_days(start: datetime, days: float) -> None:
    end = add_business_days(start, days, HOLIDAYS)
    assert business_days_between(start, end, HOLIDAYS) == pytest.approx(days, abs=1e-9)


def test_due_at_uses_the_track_business_days() -> None:
    completed = at(27, 9)
    assert due_at(completed, "fast", SLA) == at(1, 9, month=12)
    assert due_at(completed, "standard", SLA) == datetime(2026, 12, 11, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="express"):
        due_at(completed, "express", SLA)


def test_reminder_is_at_the_policy_fraction_of_business_time() -> None:
    completed = at(27, 9)  # Friday
    due = due_at(completed, "fast", SLA)  # Tuesday 09:00
    assert reminder_at(completed, due, SLA) == at(30, 9)  # one business day in, not Sunday
    assert reminder_at(completed, due, {**SLA, "reminder_fraction": 0.75}) == at(30, 21)


def clock(**changes: datetime | None) -> SlaClock:
    base = SlaClock(completed_at=at(27, 9), due_at=at(1, 9, month=12))
    return SlaClock(**{**base.__dict__, **changes})


def test_reminder_then_escalation_each_exactly_once() -> None:
    state = clock()
    assert sla_events(state, at(30, 8, 59), SLA) == []

    [reminder] = sla_events(state, at(30, 9), SLA)
    assert reminder.kind == "sla.reminder"
    assert reminder.at == at(30, 9)
    assert reminder.detail["due_at"] == "2026-12-01T09:00:00+00:00"
    assert reminder.detail["business_hours_left"] == 24.0
    state = clock(reminded_at=at(30, 9))
    assert sla_events(state, at(30, 20), SLA) == []
    assert sla_events(state, at(1, 9, month=12), SLA) == []  # due, but not yet past due
    assert not is_overdue(state, at(1, 9, month=12))

    [escalation] = sla_events(state, at(1, 12, 30, month=12), SLA)
    assert escalation.kind == "sla.escalated"
    assert escalation.at == at(1, 9, month=12)
    assert escalation.detail == {
        "due_at": "2026-12-01T09:00:00+00:00",
        "overdue_by_hours": 3.5,
        "escalation_contact": "license-governance@example.com",
    }
    assert is_overdue(state, at(1, 12, 30, month=12))
    state = clock(reminded_at=at(30, 9), escalated_at=at(1, 12, 30, month=12))
    assert sla_events(state, at(3, 0, month=12), SLA) == []


def test_escalation_supersedes_an_unsent_reminder() -> None:
    events = sla_events(clock(), at(2, 0, month=12), SLA)
    assert [e.kind for e in events] == ["sla.escalated"]
    assert sla_events(clock(escalated_at=at(2, 0, month=12)), at(2, 1, month=12), SLA) == []


def test_nothing_happens_once_decided() -> None:
    decided = clock(decided_at=at(30, 10))
    assert sla_events(decided, at(30, 12), SLA) == []
    assert sla_events(decided, at(10, 0, month=12), SLA) == []
    assert not is_overdue(decided, at(10, 0, month=12))
