"""429 handling (Retry-After is always honoured), server errors and network failures."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from adapters.tokens import InMemoryTokenStore
from adapters.zendesk.client import ZendeskClient
from adapters.zendesk.errors import (
    Conflict,
    FatalError,
    NotFound,
    RateLimited,
    RetriableError,
)

TICKET_URL = "https://acme.zendesk.com/api/v2/tickets/35436.json"


@pytest.fixture
def client(settings, clock, make_token):
    return ZendeskClient(settings, InMemoryTokenStore(make_token()), sleep=clock.sleep, clock=clock)


@responses.activate
def test_429_waits_for_retry_after_before_retrying(client, clock):
    sent_at: list[float] = []
    answers = [
        (429, {"Retry-After": "7"}, json.dumps({"error": "APIRateLimitExceeded"})),
        (200, {}, json.dumps({"ticket": {"id": 35436}})),
    ]

    def respond(request):
        sent_at.append(clock.now)
        return answers.pop(0)

    responses.add_callback(responses.GET, TICKET_URL, callback=respond)

    body = client.request("GET", "/api/v2/tickets/35436.json")

    assert body["ticket"]["id"] == 35436
    assert clock.sleeps == [7.0]
    assert sent_at[1] - sent_at[0] >= 7


@responses.activate
def test_a_wait_longer_than_the_cap_is_raised_not_slept(settings, clock, make_token):
    client = ZendeskClient(
        settings, InMemoryTokenStore(make_token()), sleep=clock.sleep, clock=clock, max_retry_wait=30
    )
    responses.get(TICKET_URL, status=429, headers={"Retry-After": "120"}, json={"error": "APIRateLimitExceeded"})

    with pytest.raises(RateLimited) as caught:
        client.request("GET", "/api/v2/tickets/35436.json")

    assert caught.value.retry_after == 120
    assert clock.sleeps == []
    assert len(responses.calls) == 1


@responses.activate
def test_repeated_throttling_gives_up_after_the_retry_budget(settings, clock, make_token):
    client = ZendeskClient(
        settings, InMemoryTokenStore(make_token()), sleep=clock.sleep, clock=clock, max_rate_limit_retries=2
    )
    responses.get(TICKET_URL, status=429, headers={"Retry-After": "3"}, json={})

    with pytest.raises(RateLimited) as caught:
        client.request("GET", "/api/v2/tickets/35436.json")

    assert clock.sleeps == [3.0, 3.0]
    assert len(responses.calls) == 3
    assert caught.value.retry_after == 3


@responses.activate
def test_503_with_retry_after_is_treated_like_throttling(client, clock):
    responses.get(TICKET_URL, status=503, headers={"Retry-After": "2"}, json={"error": "ServiceUnavailable"})
    responses.get(TICKET_URL, json={"ticket": {"id": 35436}})

    assert client.request("GET", "/api/v2/tickets/35436.json")["ticket"]["id"] == 35436
    assert clock.sleeps == [2.0]


@responses.activate
def test_server_errors_and_network_failures_are_retriable_without_hidden_retries(client):
    responses.get(TICKET_URL, status=500, json={"error": "InternalError", "description": "boom"})
    with pytest.raises(RetriableError) as caught:
        client.request("GET", "/api/v2/tickets/35436.json")
    assert (caught.value.status, caught.value.code) == (500, "InternalError")
    assert len(responses.calls) == 1

    responses.replace(responses.GET, TICKET_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(RetriableError) as network:
        client.request("GET", "/api/v2/tickets/35436.json")
    assert network.value.code == "connection_error"


@responses.activate
def test_client_errors_map_to_typed_errors(client):
    responses.get(TICKET_URL, status=404, json={"error": "RecordNotFound", "description": "Not found"})
    with pytest.raises(NotFound):
        client.request("GET", "/api/v2/tickets/35436.json")

    responses.put(
        TICKET_URL,
        status=422,
        json={"error": "RecordInvalid", "description": "Record validation errors", "details": {"base": []}},
    )
    with pytest.raises(FatalError) as invalid:
        client.request("PUT", "/api/v2/tickets/35436.json", json={"ticket": {}})
    assert invalid.value.code == "RecordInvalid"

    responses.replace(
        responses.PUT,
        TICKET_URL,
        status=409,
        json={"error": "UpdateConflict", "description": "Safe Update prevented the update"},
    )
    with pytest.raises(Conflict) as conflict:
        client.request("PUT", "/api/v2/tickets/35436.json", json={"ticket": {}})
    assert conflict.value.code == "UpdateConflict"


@pytest.mark.parametrize(
    ("header", "waited"),
    [
        ("Fri, 15 Jan 2027 08:00:30 GMT", 30.0),  # an HTTP date, 30 s after the client's clock
        ("garbage", 60.0),  # unreadable: a minute
        ("-5", 0.0),
    ],
)
@responses.activate
def test_retry_after_may_be_an_http_date(client, clock, header, waited):
    responses.get(TICKET_URL, status=429, headers={"Retry-After": header}, json={})
    responses.get(TICKET_URL, json={"ticket": {"id": 35436}})
    assert client.request("GET", "/api/v2/tickets/35436.json") == {"ticket": {"id": 35436}}
    assert clock.sleeps == [waited]


@pytest.mark.parametrize("header", ["inf", "1e12", "Thu, 01 Jan 2099 00:00:00 GMT"])
@responses.activate
def test_an_absurd_retry_after_is_clamped_to_a_day(client, header):
    responses.get(TICKET_URL, status=429, headers={"Retry-After": header}, json={})
    with pytest.raises(RateLimited) as caught:
        client.request("GET", "/api/v2/tickets/35436.json")
    assert caught.value.retry_after == 86400.0
