"""OAuth against the sandbox over loopback: authorize -> code -> token with PKCE, rotation, expiry."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from adapters.tokens import InMemoryTokenStore
from adapters.zendesk import oauth
from adapters.zendesk.client import ZendeskClient
from adapters.zendesk.errors import AuthorizationRequired


def authorize(settings, state: str = "state-123") -> tuple[str, str, dict[str, str]]:
    url, verifier = oauth.authorization_url(settings, state)
    response = requests.get(url, allow_redirects=False, timeout=5)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == settings.redirect_uri
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    return query["code"], verifier, query


def test_authorize_then_exchange_the_code_with_pkce(make_sandbox, sandbox_settings):
    sandbox = make_sandbox(tickets=3)
    settings = sandbox_settings(sandbox)

    code, verifier, query = authorize(settings)
    token = oauth.exchange_code(settings, code, verifier)

    assert query["state"] == "state-123"
    assert token["scope"] == "read write"
    assert token["expires_in"] == 1800
    client = ZendeskClient(settings, InMemoryTokenStore(token))
    assert client.current_user()["role"] == "admin"


def test_a_code_with_the_wrong_verifier_or_reused_is_refused(make_sandbox, sandbox_settings):
    sandbox = make_sandbox(tickets=1)
    settings = sandbox_settings(sandbox)
    code, verifier, _ = authorize(settings)

    with pytest.raises(AuthorizationRequired) as wrong:
        oauth.exchange_code(settings, code, verifier + "x")
    assert wrong.value.code == "invalid_grant"

    code, verifier, _ = authorize(settings)
    oauth.exchange_code(settings, code, verifier)
    with pytest.raises(AuthorizationRequired):
        oauth.exchange_code(settings, code, verifier)


def test_the_token_endpoint_only_takes_json(make_sandbox):
    sandbox = make_sandbox(tickets=1)
    response = requests.post(
        f"{sandbox.base_url}/oauth/tokens",
        data={"grant_type": "refresh_token", "refresh_token": "x", "client_id": sandbox.client_id},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_expired_access_token_is_refreshed_and_the_old_refresh_token_dies(make_sandbox, sandbox_settings):
    sandbox = make_sandbox(tickets=2)
    settings = sandbox_settings(sandbox)
    code, verifier, _ = authorize(settings)
    first = oauth.exchange_code(settings, code, verifier)
    store = InMemoryTokenStore(first)
    client = ZendeskClient(settings, store)

    sandbox.expire_access_tokens()
    ticket = client.get_ticket(sandbox.ticket_ids()[0])

    rotated = store.load()
    assert ticket["id"] == sandbox.ticket_ids()[0]
    assert rotated is not None and rotated["refresh_token"] != first["refresh_token"]
    with pytest.raises(AuthorizationRequired):
        oauth.refresh(settings, first)  # the pre-rotation refresh token no longer works
    assert oauth.refresh(settings, rotated)["access_token"]


def test_revoked_refresh_tokens_put_the_connection_back_to_authorization(make_sandbox, sandbox_settings, connect):
    sandbox = make_sandbox(tickets=1)
    client = connect(sandbox)
    sandbox.expire_access_tokens()
    sandbox.revoke_refresh_tokens()

    with pytest.raises(AuthorizationRequired):
        client.current_user()
