"""The one ``Retry-After`` parser: seconds or an HTTP date, always within [0, a day], ``None`` when unreadable."""

from __future__ import annotations

import pytest

from adapters.retry_after import MAX_RETRY_AFTER_SECONDS, parse_retry_after

NOW = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7.5 ", 7.5),
        ("0", 0.0),
        ("-5", 0.0),
        ("1e12", MAX_RETRY_AFTER_SECONDS),
        ("inf", MAX_RETRY_AFTER_SECONDS),
        ("-inf", 0.0),
        ("nan", MAX_RETRY_AFTER_SECONDS),
        ("Fri, 15 Jan 2027 08:01:30 GMT", 90.0),
        ("Thu, 01 Jan 2099 00:00:00 GMT", MAX_RETRY_AFTER_SECONDS),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("Fri, 15 Jan 2027 08:01:30 -0000", 90.0),
    ],
)
def test_seconds_and_dates_are_clamped_to_a_day(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "12 s", "Fri, 99 Foo 2027", "0x10"])
def test_unreadable_values_are_none(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_a_date_is_measured_from_the_current_time_by_default() -> None:
    assert parse_retry_after("Thu, 01 Jan 2099 00:00:00 GMT") == MAX_RETRY_AFTER_SECONDS
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
