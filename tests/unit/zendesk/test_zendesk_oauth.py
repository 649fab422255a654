"""Zendesk OAuth: PKCE authorization URL, JSON token requests, rotating refresh, error mapping."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from adapters.zendesk import oauth
from adapters.zendesk.errors import AuthorizationRequired, RateLimited, RetriableError

TOKEN_URL = "https://acme.zendesk.com/oauth/tokens"


def test_authorization_url_carries_pkce_s256_scope_and_state(settings):
    url, verifier = oauth.authorization_url(settings, state="xyz-state")

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://acme.zendesk.com/oauth/authorizations/new"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == "lec-client"
    assert query["redirect_uri"] == "https://connector.example.com/oauth/callback"
    assert query["scope"] == "read write"
    assert query["state"] == "xyz-state"
    assert query["code_challenge_method"] == "S256"
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert query["code_challenge"] == expected
    assert 43 <= len(verifier) <= 128


def test_each_authorization_gets_a_fresh_verifier(settings):
    _, first = oauth.authorization_url(settings, state="a")
    _, second = oauth.authorization_url(settings, state="b")
    assert first != second


@responses.activate
def test_exchange_code_posts_json_and_computes_expiry(settings, clock):
    responses.post(
        TOKEN_URL,
        status=201,
        json={
            "access_token": "acc-1",
            "token_type": "bearer",
            "scope": "read write",
            "refresh_token": "ref-1",
            "expires_in": 1800,
            "refresh_token_expires_in": 2592000,
        },
        match=[
            matchers.header_matcher({"Content-Type": "application/json"}),
            matchers.json_params_matcher(
                {
                    "grant_type": "authorization_code",
                    "code": "the-code",
                    "code_verifier": "the-verifier",
                    "redirect_uri": "https://connector.example.com/oauth/callback",
                    "scope": "read write",
                    "client_id": "lec-client",
                    "client_secret": "s3cret",
                }
            ),
        ],
    )

    token = oauth.exchange_code(settings, "the-code", "the-verifier", clock=clock)

    assert token["access_token"] == "acc-1"
    assert token["refresh_token"] == "ref-1"
    assert token["expires_at"] == clock.now + 1800
    assert token["refresh_token_expires_at"] == clock.now + 2592000
    json.dumps(token)  # storable as is


@responses.activate
def test_refresh_sends_the_refresh_grant_as_json_and_returns_the_rotated_pair(settings, clock, make_token):
    responses.post(
        TOKEN_URL,
        status=201,
        json={"access_token": "A2", "token_type": "bearer", "refresh_token": "R2", "expires_in": 900},
        match=[
            matchers.json_params_matcher(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": "R1",
                    "scope": "read write",
                    "client_id": "lec-client",
                    "client_secret": "s3cret",
                }
            )
        ],
    )

    fresh = oauth.refresh(settings, make_token(), clock=clock)

    assert (fresh["access_token"], fresh["refresh_token"]) == ("A2", "R2")
    assert fresh["expires_at"] == clock.now + 900


@responses.activate
def test_refused_refresh_means_authorization_required(settings, clock, make_token):
    responses.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "The provided authorization grant is invalid"},
    )

    with pytest.raises(AuthorizationRequired) as caught:
        oauth.refresh(settings, make_token(), clock=clock)
    assert caught.value.code == "invalid_grant"


def test_a_token_without_refresh_token_cannot_be_refreshed(settings, make_token):
    token = make_token()
    token["refresh_token"] = None
    with pytest.raises(AuthorizationRequired):
        oauth.refresh(settings, token)


@responses.activate
def test_token_endpoint_outages_and_throttling_are_retriable(settings, make_token):
    responses.post(TOKEN_URL, status=503, body="upstream unavailable")
    with pytest.raises(RetriableError) as outage:
        oauth.refresh(settings, make_token())
    assert outage.value.status == 503

    responses.replace(responses.POST, TOKEN_URL, status=429, headers={"Retry-After": "17"}, json={})
    with pytest.raises(RateLimited) as throttled:
        oauth.refresh(settings, make_token())
    assert throttled.value.retry_after == 17
