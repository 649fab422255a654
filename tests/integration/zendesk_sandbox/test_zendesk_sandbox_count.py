"""The sandbox's ticket counts in Zendesk's shapes: ``tickets/count`` and ``search/count`` for ``type:ticket`` with
``updated`` against a date or a time; a query it cannot read is refused as Zendesk refuses one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from adapters.zendesk.errors import FatalError


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def search(sandbox, query: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {sandbox.issue_token()['access_token']}"}
    return requests.get(f"{sandbox.base_url}/api/v2/search/count", params={"query": query} if query else None,
                        headers=headers, timeout=5)


def test_tickets_count_counts_the_tickets_not_deleted(make_sandbox, connect):
    sandbox = make_sandbox(tickets=40, seed=5, export_lag=0)
    client = connect(sandbox)
    sandbox.delete_ticket(sandbox.ticket_ids()[0])

    body = client.request("GET", "/api/v2/tickets/count.json")

    assert body["count"]["value"] == 39 and set(body["count"]) == {"value", "refreshed_at"}
    assert abs(parse(body["count"]["refreshed_at"]).timestamp() - sandbox.clock()) < 5
    assert client.count_tickets(0) == 39


def test_search_count_compares_updated_with_a_time_or_a_whole_day(make_sandbox, connect):
    sandbox = make_sandbox(tickets=60, seed=7, export_lag=0)
    client = connect(sandbox)
    stamps = sorted(parse(sandbox.ticket(i)["updated_at"]) for i in sandbox.ticket_ids())
    middle = stamps[30]
    at = middle.strftime("%Y-%m-%dT%H:%M:%SZ")
    day = middle.date()
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)

    def count(query: str) -> int:
        return int(client.request("GET", "/api/v2/search/count.json", params={"query": query})["count"])

    assert count(f"type:ticket updated>={at}") == sum(s >= middle for s in stamps) == 30
    assert count(f"type:ticket updated>{at}") == sum(s > middle for s in stamps)
    assert count(f"type:ticket updated<{at}") == 30
    later = middle.astimezone(UTC) + timedelta(hours=2)
    assert count(f"type:ticket updated>={later.strftime('%Y-%m-%dT%H:%M:%S')}+02:00") == 30  # same moment
    assert count(f"type:ticket updated>={day.isoformat()}") == sum(s >= midnight for s in stamps)
    assert count(f"type:ticket updated>{day.isoformat()}") == sum(s >= midnight + timedelta(days=1) for s in stamps)
    assert count(f"type:ticket updated:{day.isoformat()}") == sum(s.date() == day for s in stamps)
    assert count(f"type:ticket updated<={day.isoformat()}") == sum(s.date() <= day for s in stamps)
    assert count("type:ticket") == 60
    assert client.count_tickets(int(middle.timestamp())) == 30  # the query the connector sends

    sandbox.delete_ticket(sandbox.ticket_ids()[0])  # deleting touches it; search never finds it
    assert count(f"type:ticket updated>={at}") == 30


@pytest.mark.parametrize("query", ["type:ticket status:open", "updated>2026-01-01", "type:user updated>2026-01-01",
                                   "type:ticket updated>yesterday", "type:ticket updated>2026-13-01"])
def test_a_query_it_cannot_read_is_a_422_in_zendesks_shape(make_sandbox, query):
    sandbox = make_sandbox(tickets=5, export_lag=0)

    answer = search(sandbox, query)

    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid" and answer.json()["description"].startswith("Invalid search query")


def test_a_missing_query_is_a_400_and_the_client_gives_no_count(make_sandbox, connect):
    sandbox = make_sandbox(tickets=5, export_lag=0)
    client = connect(sandbox)

    answer = search(sandbox, None)

    assert answer.status_code == 400 and answer.json()["error"] == "invalid"
    with pytest.raises(FatalError) as caught:
        client.request("GET", "/api/v2/search/count", params={"query": "type:ticket priority:high"})
    assert caught.value.status == 422
