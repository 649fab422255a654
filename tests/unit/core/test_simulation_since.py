"""``since`` for a policy simulation: an ISO date (its start, UTC) or date-time; anything else names the field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from connector.governance.errors import InvalidInput
from connector.policy_simulation import parse_since


def test_dates_and_date_times_are_moments_in_utc():
    assert parse_since("2026-01-31") == datetime(2026, 1, 31, tzinfo=UTC)
    assert parse_since(date(2026, 1, 31)) == datetime(2026, 1, 31, tzinfo=UTC)
    assert parse_since("2026-01-31T10:30:00") == datetime(2026, 1, 31, 10, 30, tzinfo=UTC)
    east = parse_since("2026-01-31T10:30:00+02:00")
    assert east == datetime(2026, 1, 31, 10, 30, tzinfo=timezone(timedelta(hours=2)))
    assert parse_since(None) is None and parse_since("") is None


@pytest.mark.parametrize("value", ["last week", "2026-13-01", "31/01/2026", 2026, ["2026-01-01"]])
def test_anything_else_is_refused_naming_the_field(value):
    with pytest.raises(InvalidInput) as caught:
        parse_since(value)
    assert set(caught.value.details["fields"]) == {"since"}
