"""SOQL building: the exact query the sync runs, field-name validation and string escaping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.salesforce.sandbox_soql import parse
from adapters.salesforce.soql import (
    build_incremental_query,
    build_records_query,
    datetime_literal,
    quote,
    validate_field_path,
)


def test_incremental_query_has_watermark_order_and_required_fields() -> None:
    soql = build_incremental_query(
        "License_Exception_Request__c",
        ["Name", "Account__r.Name", "id", "Category__c", "Name"],
        datetime(2026, 11, 20, 10, 30, tzinfo=UTC),
    )
    assert soql == (
        "SELECT Id, SystemModstamp, IsDeleted, Name, Account__r.Name, Category__c "
        "FROM License_Exception_Request__c WHERE SystemModstamp >= 2026-11-20T10:30:00Z "
        "ORDER BY SystemModstamp, Id"
    )


def test_incremental_query_without_watermark_and_with_limit() -> None:
    soql = build_incremental_query("Opportunity", ["Name"], None, limit=500)
    assert soql == ("SELECT Id, SystemModstamp, IsDeleted, Name FROM Opportunity ORDER BY SystemModstamp, Id LIMIT 500")


def test_incremental_query_exclusive_bound() -> None:
    soql = build_incremental_query("Opportunity", [], datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), inclusive=False)
    assert "WHERE SystemModstamp > 2026-01-02T03:04:05Z " in soql


def test_datetime_literal_is_utc_and_truncated_not_rounded() -> None:
    cet = timezone(timedelta(hours=2))
    assert datetime_literal(datetime(2026, 11, 20, 12, 30, 59, 999_999, tzinfo=cet)) == "2026-11-20T10:30:59Z"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_incremental_query("Opportunity", [], datetime(2026, 11, 20))


@pytest.mark.parametrize(
    "bad",
    [
        "Name, (SELECT Id FROM Contacts)",
        "Name FROM Account --",
        "Name;DROP",
        "1Name",
        "Name__",
        "Na me",
        "Account__r..Name",
        "Account__r.",
        "Name'",
        "",
        "A" * 81,
        "Foo___c",
    ],
)
def test_invalid_field_names_are_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError) as error:
        build_incremental_query("Opportunity", ["Id", bad], None)
    assert repr(bad) in str(error.value)


@pytest.mark.parametrize(
    "good",
    ["Name", "Account__r.Name", "ns__Field__c", "Location__Latitude__s", "Account__r.Owner.Email", "Vendor__x"],
)
def test_valid_field_names_pass(good: str) -> None:
    assert validate_field_path(good) == good


def test_object_name_is_validated() -> None:
    with pytest.raises(ValueError, match="object name"):
        build_incremental_query("Account WHERE Id != null", ["Name"], None)


@pytest.mark.parametrize(
    ("raw", "literal"),
    [
        ("Bob's BBQ", "'Bob\\'s BBQ'"),
        ("back\\slash", "'back\\\\slash'"),
        ('say "hi"', "'say \\\"hi\\\"'"),
        ("a\nb\rc\td", "'a\\nb\\rc\\td'"),
        ("bell\b feed\f", "'bell\\b feed\\f'"),
        ("50%_off", "'50%_off'"),
        ("ctrl\x07", "'ctrl\\u0007'"),
    ],
)
def test_quote_escapes_per_soql_rules(raw: str, literal: str) -> None:
    assert quote(raw) == literal


def test_like_wildcards_are_escaped_only_for_like() -> None:
    assert quote("50%_off", like=True) == "'50\\%\\_off'"


@given(st.text(max_size=60))
def test_quoted_strings_round_trip_through_a_soql_parser(value: str) -> None:
    query = parse(f"SELECT Id FROM Account WHERE Name = {quote(value)}")
    assert query.where[0].values == (value,)


def test_records_query_quotes_ids_and_refuses_bad_ones() -> None:
    soql = build_records_query("Opportunity", ["Name"], ["006000000000001AAA", "006000000000002"])
    assert soql == (
        "SELECT Id, SystemModstamp, IsDeleted, Name FROM Opportunity "
        "WHERE Id IN ('006000000000001AAA', '006000000000002') ORDER BY Id"
    )
    with pytest.raises(ValueError, match="record id"):
        build_records_query("Opportunity", ["Name"], ["006' OR Name != '"])
