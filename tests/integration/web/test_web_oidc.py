"""OpenID Connect sign-in (Salesforce as the identity provider), with the provider mocked by ``responses``."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from connector.db import db
from connector.models import AuditEvent

ISSUER = "https://login.salesforce.com"
CLIENT_ID = "3MVG9connector"
METADATA = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/services/oauth2/authorize",
    "token_endpoint": f"{ISSUER}/services/oauth2/token",
    "userinfo_endpoint": f"{ISSUER}/services/oauth2/userinfo",
    "jwks_uri": f"{ISSUER}/id/keys",
    "response_types_supported": ["code"],
    "subject_types_supported": ["public"],
    "id_token_signing_alg_values_supported": ["RS256"],
}
KEY = RSAKey.generate_key(2048, parameters={"kid": "sf-key-1", "use": "sig", "alg": "RS256"})


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    return {"CONNECTOR_OIDC_ISSUER": ISSUER, "CONNECTOR_OIDC_CLIENT_ID": CLIENT_ID,
            "CONNECTOR_OIDC_CLIENT_SECRET": "oidc-client-secret"}


def _id_token(nonce: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "sub": f"{ISSUER}/id/00Dxx0000001gEREAY/005xx000001Sv6AAAS", "aud": CLIENT_ID,
            "iat": now, "exp": now + 300, "nonce": nonce, "email": "lena@vendor.example", "email_verified": True,
            "name": "Lena Chair", **claims}
    return jwt.encode({"alg": "RS256", "kid": "sf-key-1"}, body, KEY)


def _sign_in_through_provider(client: Any, **claims: Any) -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{ISSUER}/.well-known/openid-configuration", json=METADATA)
        mock.get(f"{ISSUER}/id/keys", json={"keys": [KEY.as_dict(private=False)]})
        start = client.get("/sign-in/oidc")
        assert start.status_code == 302
        location = urlsplit(start.headers["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == METADATA["authorization_endpoint"]
        query = {k: v[0] for k, v in parse_qs(location.query).items()}
        assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256" and "openid" in query["scope"].split()
        assert query["redirect_uri"].endswith("/sign-in/oidc/callback")
        mock.post(METADATA["token_endpoint"], json={
            "access_token": "00Dxx!access", "token_type": "Bearer", "instance_url": "https://acme.my.salesforce.com",
            "id_token": _id_token(query["nonce"], **claims), "scope": "openid email profile"})
        callback = client.get("/sign-in/oidc/callback", query_string={"code": "aPrx.code", "state": query["state"]})
        token_calls = [c for c in mock.calls if c.request.url == METADATA["token_endpoint"]]
        assert len(token_calls) == 1 and "code_verifier=" in str(token_calls[0].request.body)
        return callback


def test_provider_email_signs_in_the_matching_local_account(app, client, make_account, csrf):
    make_account("reviewer", "licensing", email="Lena@Vendor.example", password=None)
    assert "Sign in with your company account" in client.get("/sign-in").get_data(as_text=True)
    r = _sign_in_through_provider(client)
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert client.get("/queue").status_code == 200
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.signed_in"))
        assert event is not None and event.data == {"method": "oidc"}


def test_provider_email_without_a_local_account_is_refused(client, make_account):
    make_account("reviewer", "licensing", email="someone.else@vendor.example")
    r = _sign_in_through_provider(client)
    assert r.status_code == 403 and "no active account here has that email" in r.get_data(as_text=True)
    assert client.get("/queue").status_code == 302


def test_unverified_provider_email_is_refused(client, make_account):
    make_account("reviewer", "licensing", email="lena@vendor.example")
    r = _sign_in_through_provider(client, email_verified=False)
    assert r.status_code == 403
    assert client.get("/queue").status_code == 302


def test_forged_callback_state_is_refused(client, make_account):
    make_account("reviewer", "licensing", email="lena@vendor.example")
    r = client.get("/sign-in/oidc/callback", query_string={"code": "x", "state": "forged"})
    assert r.status_code == 400 and "refused" in r.get_data(as_text=True)
    assert client.get("/queue").status_code == 302


def test_without_configuration_there_is_no_provider_sign_in(database_url):
    from support.database import app_config

    from connector import create_app

    app = create_app(app_config(database_url))
    try:
        client = app.test_client()
        assert client.get("/sign-in/oidc").status_code == 404
        assert "company account" not in client.get("/sign-in").get_data(as_text=True)
    finally:
        with app.app_context():
            db.engine.dispose()
