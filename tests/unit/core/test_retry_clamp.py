"""The one clamp every rescheduled delivery goes through, and the one-line description of a worker's error."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError, PendingRollbackError

from adapters.retry_after import parse_retry_after
from connector.delivery import RecordFailed, retry_at
from connector.worker import describe

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(hours=24)


@pytest.mark.parametrize(("seconds", "expected"), [
    (1e12, DEADLINE), (math.inf, DEADLINE), (math.nan, DEADLINE), (None, DEADLINE), (-5.0, NOW),
    (30.0, NOW + timedelta(seconds=30)), (1e308, DEADLINE), (-math.inf, NOW),
])
def test_retry_at_stays_between_now_and_the_deadline(seconds, expected):
    assert retry_at(NOW, seconds, DEADLINE) == expected


def test_a_deadline_already_passed_means_now():
    assert retry_at(NOW, 60.0, NOW - timedelta(seconds=1)) == NOW


@pytest.mark.parametrize("header", ["1e12", "inf", "nan", "-5", "Thu, 01 Jan 2099 00:00:00 GMT", "-inf", "1e400"])
def test_every_parsed_header_schedules_within_the_deadline(header):
    assert NOW <= retry_at(NOW, parse_retry_after(header), DEADLINE) <= DEADLINE


def test_a_database_error_is_described_by_its_driver_line_without_the_statement():
    exc = OperationalError("UPDATE deliveries SET payload = %(p)s", {"p": "password=hunter2hunter2"},
                           ConnectionRefusedError("connection to server failed: Connection refused\nIs it up?"))
    text = describe(exc)
    assert text == "OperationalError: connection to server failed: Connection refused"
    assert "UPDATE" not in text and "hunter2" not in text


def test_a_wrapped_error_names_its_cause_and_credentials_are_masked():
    cause = PendingRollbackError("This Session's transaction has been rolled back\n[SQL: SELECT 1]")
    wrapped = RecordFailed("could not record the outcomes of 3 deliveries to billing")
    wrapped.__cause__ = cause
    assert describe(wrapped) == ("RecordFailed: could not record the outcomes of 3 deliveries to billing "
                                 "(PendingRollbackError: This Session's transaction has been rolled back)")
    assert "[redacted]" in describe(RuntimeError("Bearer abcdefghijklmnop failed"))
