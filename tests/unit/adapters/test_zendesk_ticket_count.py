"""The ticket count a Zendesk backfill measures itself against: ``tickets/count`` from the beginning,
``search/count`` from a date; one call that never waits, whatever Zendesk answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses
from responses import matchers

from adapters.tokens import InMemoryTokenStore
from adapters.zendesk.client import COUNT_TIMEOUT, ZendeskClient
from adapters.zendesk.errors import FatalError, RateLimited, RetriableError
from adapters.zendesk.settings import ZendeskSettings

BASE = "https://acme.zendesk.com"
TICKETS_COUNT = f"{BASE}/api/v2/tickets/count"
SEARCH_COUNT = f"{BASE}/api/v2/search/count"
SINCE = int(datetime(2026, 1, 31, 10, 0, tzinfo=UTC).timestamp())


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> ZendeskClient:
    token = {"access_token": "A1", "token_type": "bearer", "refresh_token": "R1", "scope": "read write"}
    return ZendeskClient(ZendeskSettings(subdomain="acme", client_id="lec-client"), InMemoryTokenStore(token),
                         sleep=sleeps.append, timeout=30.0)


@responses.activate
def test_from_the_beginning_the_account_ticket_count(client):
    call = responses.get(TICKETS_COUNT, json={"count": {"value": 102, "refreshed_at": "2020-04-06T02:18:17Z"}},
                         match=[matchers.header_matcher({"Authorization": "Bearer A1"})])

    assert client.count_tickets(0) == 102
    assert client.count_tickets(None) == 102
    assert call.call_count == 2 and call.calls[0].request.params == {}
    assert call.calls[0].request.req_kwargs["timeout"] == COUNT_TIMEOUT  # shorter than the client's 30 s
    assert client.http_calls == 2


@responses.activate
def test_from_a_date_the_search_count_of_tickets_updated_since(client):
    call = responses.get(SEARCH_COUNT, json={"count": 6},
                         match=[matchers.query_param_matcher({"query": "type:ticket updated>=2026-01-31T10:00:00Z"})])

    assert client.count_tickets(SINCE) == 6
    assert call.call_count == 1


@responses.activate
def test_a_rate_limit_is_raised_at_once_never_slept_on(client, sleeps):
    call = responses.get(TICKETS_COUNT, status=429, headers={"Retry-After": "2"},
                         json={"error": "APIRateLimitExceeded", "description": "Rate limit for this account exceeded"})

    with pytest.raises(RateLimited):
        client.count_tickets(0)
    assert call.call_count == 1 and sleeps == []


@pytest.mark.parametrize(("status", "body", "error"), [
    (403, {"error": "Forbidden", "description": "You do not have access to this page."}, FatalError),
    (422, {"error": "invalid", "description": "Invalid search query"}, FatalError),
    (503, {"error": "unavailable", "description": "Sorry, we could not complete your search query."},
     RetriableError),
])
@responses.activate
def test_a_refusal_is_the_taxonomys_error(client, status, body, error):
    responses.get(SEARCH_COUNT, status=status, json=body)

    with pytest.raises(error) as caught:
        client.count_tickets(SINCE)
    assert caught.value.status == status


@pytest.mark.parametrize("body", [{}, {"count": None}, {"count": {"refreshed_at": None}}, {"count": "12"},
                                  {"count": {"value": -1}}, {"count": True}])
@responses.activate
def test_an_answer_without_a_count_is_refused(client, body):
    responses.get(TICKETS_COUNT, json=body)
    responses.get(SEARCH_COUNT, json=body)

    for since in (0, SINCE):
        with pytest.raises(FatalError) as caught:
            client.count_tickets(since)
        assert caught.value.code == "invalid_response"


@responses.activate
def test_an_unreachable_zendesk_is_retriable(client):
    # nothing registered: responses refuses the connection
    with pytest.raises(RetriableError) as caught:
        client.count_tickets(0)
    assert caught.value.code == "connection_error"
