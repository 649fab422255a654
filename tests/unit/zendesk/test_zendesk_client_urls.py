"""The request wrapper only ever calls the account's own base URL: the token never leaves for another host."""

from __future__ import annotations

import pytest
import responses

from adapters.tokens import InMemoryTokenStore
from adapters.zendesk.client import ZendeskClient
from adapters.zendesk.errors import FatalError, ForeignUrl
from adapters.zendesk.settings import ZendeskSettings

BASE = "https://acme.zendesk.com"
COMMENTS = f"{BASE}/api/v2/tickets/35436/comments.json"


@pytest.fixture
def client(settings, clock, make_token):
    return ZendeskClient(settings, InMemoryTokenStore(make_token()), sleep=clock.sleep, clock=clock)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://attacker.example/api/v2/users/me.json", "attacker.example"),
        ("https://acme.zendesk.com.attacker.example/api/v2/users/me.json", "acme.zendesk.com.attacker.example"),
        ("https://acme.zendesk.com@attacker.example/api/v2/users/me.json", "attacker.example"),
        ("//attacker.example/api/v2/users/me.json", "attacker.example"),
        ("http://acme.zendesk.com/api/v2/users/me.json", "acme.zendesk.com"),  # the token in clear
        ("https://acme.zendesk.com:8443/api/v2/users/me.json", "acme.zendesk.com"),
        ("https://other.zendesk.com/api/v2/users/me.json", "other.zendesk.com"),
    ],
)
@responses.activate
def test_absolute_urls_are_not_accepted_as_api_paths(client, url, host):
    with pytest.raises(ForeignUrl) as caught:
        client.request("GET", url)
    assert isinstance(caught.value, FatalError) and caught.value.code == "foreign_url"
    assert caught.value.host == host and host in caught.value.message
    assert len(responses.calls) == 0, "nothing was sent, so no token was either"


def test_an_api_path_is_relative_to_the_account(client):
    with pytest.raises(ValueError):
        client.request("GET", "api/v2/users/me.json")
    assert client.url_for("/api/v2/users/me.json") == f"{BASE}/api/v2/users/me.json"
    assert client.url_for(f"{BASE}:443/api/v2/users/me.json") == f"{BASE}:443/api/v2/users/me.json"
    assert client.url_for("HTTPS://ACME.zendesk.com/api/v2/users/me.json")  # scheme and host are case-blind


@responses.activate
def test_a_next_page_on_the_account_is_followed_and_one_elsewhere_is_refused(client):
    page2 = f"{COMMENTS}?page=2"
    responses.get(COMMENTS, json={"comments": [{"id": 1, "body": "first"}], "next_page": page2})
    responses.get(page2, json={"comments": [{"id": 2, "body": "second"}],
                               "next_page": "https://collector.attacker.example/api/v2/comments.json?page=3"})
    stolen = responses.get("https://collector.attacker.example/api/v2/comments.json", json={"comments": []})

    with pytest.raises(ForeignUrl) as caught:
        client.comments(35436)

    assert caught.value.host == "collector.attacker.example"
    assert [c.request.url for c in responses.calls] == [COMMENTS, page2]
    assert all(c.request.headers["Authorization"] == "Bearer A1" for c in responses.calls)
    assert not stolen.calls


@responses.activate
def test_a_cursor_link_elsewhere_is_refused_with_api_token_auth_too(clock):
    settings = ZendeskSettings(subdomain="acme", auth="api_token", email="admin@acme.example", api_token="tok")
    client = ZendeskClient(settings, InMemoryTokenStore(None), sleep=clock.sleep, clock=clock)
    responses.get(f"{BASE}/api/v2/ticket_fields.json", json={
        "ticket_fields": [{"id": 1, "title": "Subject"}], "meta": {"has_more": True, "after_cursor": "x"},
        "links": {"next": "https://attacker.example/api/v2/ticket_fields.json?page[after]=x"}})
    stolen = responses.get("https://attacker.example/api/v2/ticket_fields.json", json={"ticket_fields": []})

    with pytest.raises(ForeignUrl, match=r"attacker\.example"):
        client.ticket_fields()

    assert len(responses.calls) == 1 and not stolen.calls
