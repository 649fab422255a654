"""Cursor-based incremental export: paging, resuming, start_time rules, pacing, people attachment."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from adapters.tokens import InMemoryTokenStore
from adapters.zendesk.client import ZendeskClient
from adapters.zendesk.people import attach_people

EXPORT_URL = "https://acme.zendesk.com/api/v2/incremental/tickets/cursor.json"


def ticket(ticket_id: int, requester_id: int = 501, organization_id: int | None = 701) -> dict:
    return {
        "id": ticket_id,
        "subject": f"Ticket {ticket_id}",
        "requester_id": requester_id,
        "organization_id": organization_id,
        "tags": ["license_exception"],
        "custom_fields": [{"id": 27642, "value": "745"}],
        "generated_timestamp": 1304553600,
        "updated_at": "2026-11-20T10:30:00Z",
    }


def export_page(tickets: list[dict], after_cursor: str, end_of_stream: bool, **sideloads: list) -> dict:
    return {
        "tickets": tickets,
        "after_url": f"{EXPORT_URL}?cursor={after_cursor}",
        "after_cursor": after_cursor,
        "before_url": None,
        "before_cursor": None,
        "end_of_stream": end_of_stream,
        **sideloads,
    }


@pytest.fixture
def client(settings, clock, make_token):
    return ZendeskClient(settings, InMemoryTokenStore(make_token()), sleep=clock.sleep, clock=clock)


@responses.activate
def test_export_follows_after_cursor_until_end_of_stream(client, clock):
    start = int(clock.now) - 86400
    first = responses.get(
        EXPORT_URL,
        json=export_page(
            [ticket(1), ticket(2)],
            "MTU3NjYxMzUzOS4wfHw0Njd8",
            False,
            users=[{"id": 501, "name": "Ada Lovelace", "email": "ada@example.com"}],
            organizations=[{"id": 701, "name": "Northwind"}],
        ),
        match=[
            matchers.query_param_matcher(
                {"start_time": str(start), "per_page": "1000", "include": "users,organizations"}
            ),
            matchers.header_matcher({"Authorization": "Bearer A1"}),
        ],
    )
    second = responses.get(
        EXPORT_URL,
        json=export_page([ticket(3)], "MTU3NjYxMzUzOS4wfHw0Njh8", True),
        match=[
            matchers.query_param_matcher(
                {"cursor": "MTU3NjYxMzUzOS4wfHw0Njd8", "per_page": "1000", "include": "users,organizations"}
            )
        ],
    )

    pages = list(client.export_tickets(start_time=start))

    assert [[t["id"] for t in page.tickets] for page in pages] == [[1, 2], [3]]
    assert [page.end_of_stream for page in pages] == [False, True]
    assert pages[-1].after_cursor == "MTU3NjYxMzUzOS4wfHw0Njh8"
    assert pages[0].users[0]["email"] == "ada@example.com"
    assert pages[0].organizations[0]["name"] == "Northwind"
    assert (first.call_count, second.call_count) == (1, 1)
    assert client.http_calls == 2


@responses.activate
def test_resuming_sends_only_the_stored_cursor(client):
    responses.get(
        EXPORT_URL,
        json=export_page([ticket(9)], "next-cursor", True),
        match=[matchers.query_param_matcher({"cursor": "stored-cursor", "per_page": "1000"}, strict_match=False)],
    )

    pages = list(client.export_tickets(cursor="stored-cursor"))

    assert "start_time" not in str(responses.calls[0].request.url)
    assert [t["id"] for t in pages[0].tickets] == [9]
    assert pages[0].after_cursor == "next-cursor"


@responses.activate
def test_the_generator_is_lazy_so_a_caller_can_stop_after_a_page(client, clock):
    responses.get(EXPORT_URL, json=export_page([ticket(1)], "c1", False))

    pages = client.export_tickets(start_time=0)
    first = next(pages)

    assert first.after_cursor == "c1"
    assert len(responses.calls) == 1


@responses.activate
def test_start_time_is_kept_at_least_a_minute_in_the_past(client, clock):
    responses.get(EXPORT_URL, json=export_page([], "c0", True))

    list(client.export_tickets(start_time=int(clock.now) + 3600))

    sent = parse_qs(urlsplit(str(responses.calls[0].request.url)).query)
    assert int(sent["start_time"][0]) == int(clock.now) - 60


def test_export_needs_a_start_time_or_a_cursor(client):
    with pytest.raises(ValueError):
        next(client.export_tickets())


@responses.activate
def test_export_is_paced_to_ten_requests_a_minute(client, clock):
    sent_at: list[float] = []
    pages_left = 25

    def serve(request):
        nonlocal pages_left
        sent_at.append(clock.now)
        pages_left -= 1
        clock.now += 0.5  # each response takes half a second
        return 200, {}, json.dumps(export_page([ticket(pages_left)], f"c{pages_left}", pages_left == 0))

    responses.add_callback(responses.GET, EXPORT_URL, callback=serve)

    pages = list(client.export_tickets(start_time=0))

    assert len(pages) == 25
    for index, moment in enumerate(sent_at):
        in_window = [t for t in sent_at[: index + 1] if t > moment - 60]
        assert len(in_window) <= 10, f"request {index} was the {len(in_window)}th within a minute"
    assert clock.sleeps, "the client must wait instead of exceeding the limit"
    assert sent_at[10] - sent_at[0] >= 60


@responses.activate
def test_people_missing_from_the_page_are_fetched_in_batches_of_100(client):
    tickets = [ticket(i, requester_id=1000 + i, organization_id=2000 + (i % 3)) for i in range(150)]
    sideloaded_users = [{"id": 1000, "name": "Already here"}]
    user_calls: list[list[str]] = []

    def users(request):
        ids = request.params["ids"].split(",")
        user_calls.append(ids)
        return 200, {}, json.dumps({"users": [{"id": int(i), "name": f"User {i}"} for i in ids]})

    responses.add_callback(responses.GET, "https://acme.zendesk.com/api/v2/users/show_many.json", callback=users)
    orgs = responses.get(
        "https://acme.zendesk.com/api/v2/organizations/show_many.json",
        json={"organizations": [{"id": 2000 + k, "name": f"Org {k}"} for k in range(3)]},
    )

    attached = client.attach_people(tickets, sideloaded_users, [])

    assert [len(ids) for ids in user_calls] == [100, 49]
    assert "1000" not in user_calls[0]
    assert orgs.call_count == 1
    assert attached[0]["requester"]["name"] == "Already here"
    assert attached[149]["requester"]["name"] == "User 1149"
    assert attached[4]["organization"]["name"] == "Org 1"


def test_attach_people_is_pure():
    tickets = [ticket(1, requester_id=5, organization_id=None)]

    attached = attach_people(tickets, [{"id": 5, "email": "x@example.com"}], [])

    assert attached[0]["requester"] == {"id": 5, "email": "x@example.com"}
    assert attached[0]["organization"] is None
    assert "requester" not in tickets[0]
