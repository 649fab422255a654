"""Authentication in the request wrapper: refresh on 401 and ahead of expiry, rotation, legacy API tokens."""

from __future__ import annotations

import base64
import json

import pytest
import responses
from responses import matchers

from adapters.tokens import InMemoryTokenStore
from adapters.zendesk.client import ZendeskClient
from adapters.zendesk.errors import AuthorizationRequired
from adapters.zendesk.settings import ZendeskSettings

TOKEN_URL = "https://acme.zendesk.com/oauth/tokens"
ME_URL = "https://acme.zendesk.com/api/v2/users/me.json"
INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons.",
}


def rotating_token_endpoint(events: list[str]):
    """A token endpoint that rotates R<n> -> R<n+1> and refuses any refresh token but the latest."""
    state = {"current": 1}

    def respond(request):
        body = json.loads(request.body)
        events.append(f"refresh:{body['refresh_token']}")
        if body["refresh_token"] != f"R{state['current']}":
            return 400, {}, json.dumps({"error": "invalid_grant", "error_description": "revoked"})
        state["current"] += 1
        n = state["current"]
        return (
            201,
            {},
            json.dumps({"access_token": f"A{n}", "token_type": "bearer", "refresh_token": f"R{n}", "expires_in": 1800}),
        )

    return respond


def me_endpoint(events: list[str], valid: set[str]):
    def respond(request):
        access = request.headers["Authorization"].removeprefix("Bearer ")
        events.append(f"api:{access}")
        if access not in valid:
            return 401, {}, json.dumps(INVALID_TOKEN)
        return 200, {}, json.dumps({"user": {"id": 1, "name": "Admin"}})

    return respond


@responses.activate
def test_invalid_token_is_refreshed_once_and_the_rotated_pair_is_saved_before_use(
    settings, clock, make_token, recording_store
):
    events: list[str] = []
    valid = {"A2", "A3"}
    responses.add_callback(responses.POST, TOKEN_URL, callback=rotating_token_endpoint(events))
    responses.add_callback(responses.GET, ME_URL, callback=me_endpoint(events, valid))
    store = recording_store(make_token("A1", "R1"), events)
    client = ZendeskClient(settings, store, sleep=clock.sleep, clock=clock)

    assert client.current_user()["name"] == "Admin"
    assert events == ["api:A1", "refresh:R1", "save:R2", "api:A2"]
    assert store.load()["refresh_token"] == "R2"

    valid.discard("A2")  # Zendesk revokes the access token again: the next refresh must use R2, not R1
    events.clear()
    client.current_user()
    assert events == ["api:A2", "refresh:R2", "save:R3", "api:A3"]
    assert client.http_calls == 6


@responses.activate
def test_a_token_close_to_expiry_is_refreshed_before_the_call(settings, clock, make_token, recording_store):
    events: list[str] = []
    responses.add_callback(responses.POST, TOKEN_URL, callback=rotating_token_endpoint(events))
    responses.add_callback(responses.GET, ME_URL, callback=me_endpoint(events, {"A2"}))
    store = recording_store(make_token("A1", "R1", ttl=90), events)
    client = ZendeskClient(settings, store, sleep=clock.sleep, clock=clock, refresh_leeway=120)

    client.current_user()

    assert events == ["refresh:R1", "save:R2", "api:A2"]


@responses.activate
def test_refused_refresh_requires_authorization_and_keeps_the_stored_token(settings, clock, make_token):
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "revoked"})
    responses.get(ME_URL, status=401, json=INVALID_TOKEN)
    store = InMemoryTokenStore(make_token("A1", "R1"))
    client = ZendeskClient(settings, store, sleep=clock.sleep, clock=clock)

    with pytest.raises(AuthorizationRequired) as caught:
        client.current_user()

    assert caught.value.code == "invalid_grant"
    assert (store.load() or {})["refresh_token"] == "R1"


@responses.activate
def test_a_pair_rotated_by_another_worker_is_adopted_instead_of_refreshing(settings, clock, make_token):
    events: list[str] = []
    valid = {"A1"}
    token_endpoint = responses.add_callback(responses.POST, TOKEN_URL, callback=rotating_token_endpoint(events))
    responses.add_callback(responses.GET, ME_URL, callback=me_endpoint(events, valid))
    store = InMemoryTokenStore(make_token("A1", "R1"))
    client = ZendeskClient(settings, store, sleep=clock.sleep, clock=clock)
    client.current_user()
    store.save(make_token("A7", "R7"))  # another worker refreshed: A1/R1 are dead now
    valid.clear()
    valid.add("A7")

    client.current_user()

    assert events == ["api:A1", "api:A1", "api:A7"]
    assert token_endpoint.call_count == 0


@responses.activate
def test_a_second_401_after_refreshing_is_authorization_required(settings, clock, make_token):
    events: list[str] = []
    responses.add_callback(responses.POST, TOKEN_URL, callback=rotating_token_endpoint(events))
    responses.add_callback(responses.GET, ME_URL, callback=me_endpoint(events, set()))
    client = ZendeskClient(settings, InMemoryTokenStore(make_token()), sleep=clock.sleep, clock=clock)

    with pytest.raises(AuthorizationRequired):
        client.current_user()
    assert events.count("refresh:R1") == 1


def test_without_a_token_nothing_is_sent(settings, clock):
    client = ZendeskClient(settings, InMemoryTokenStore(None), sleep=clock.sleep, clock=clock)
    with pytest.raises(AuthorizationRequired) as caught:
        client.current_user()
    assert caught.value.code == "no_token"
    assert client.http_calls == 0


@responses.activate
def test_legacy_api_token_uses_basic_auth(clock):
    settings = ZendeskSettings(subdomain="acme", auth="api_token", email="admin@acme.com", api_token="tok123")
    expected = base64.b64encode(b"admin@acme.com/token:tok123").decode()
    responses.get(
        ME_URL,
        json={"user": {"id": 1}},
        match=[matchers.header_matcher({"Authorization": f"Basic {expected}"})],
    )
    client = ZendeskClient(settings, InMemoryTokenStore(None), sleep=clock.sleep, clock=clock)

    assert client.current_user() == {"id": 1}


@responses.activate
def test_legacy_api_token_refused_is_authorization_required(clock):
    settings = ZendeskSettings(subdomain="acme", auth="api_token", email="admin@acme.com", api_token="old")
    responses.get(ME_URL, status=401, json={"error": "Couldn't authenticate you"})
    client = ZendeskClient(settings, InMemoryTokenStore(None), sleep=clock.sleep, clock=clock)

    with pytest.raises(AuthorizationRequired):
        client.current_user()
    assert client.http_calls == 1
