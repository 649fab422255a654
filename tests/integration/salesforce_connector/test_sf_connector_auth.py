"""Salesforce connections through the API: settings, the web server flow with PKCE, JWT and client credentials."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from integration.salesforce_connector.mock_org import (
    CLIENT_ID,
    CLIENT_SECRET,
    INSTANCE,
    LOGIN,
    ORG_ID,
    MockOrg,
    connection,
    create_connection,
)
from sqlalchemy import select

from connector.db import db
from connector.models import Connection


@pytest.fixture(scope="module")
def private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_settings_defaults_secrets_write_only_and_validation(client, admin) -> None:
    view = create_connection(client, admin)
    assert view["status"] == "needs_authorization" and view["authorized"] is False
    assert view["settings"] == {"login_url": LOGIN, "client_id": CLIENT_ID, "api_version": "62.0",
                                "auth": "web_server", "object": "License_Exception_Request__c",
                                "daily_limit_share": 0.8}
    assert view["secrets_set"] == ["client_secret"]
    assert view["webhook_url"] == "http://connector.test/webhooks/salesforce/sf"
    assert CLIENT_SECRET not in str(view)

    bad = client.post("/api/v1/connections", headers=admin, json={"name": "sf-bad", "kind": "salesforce", "settings": {
        "client_id": CLIENT_ID, "auth": "jwt", "object": "Robert'); DROP", "daily_limit_share": 1.5, "colour": "red"}})
    assert bad.status_code == 422
    fields = bad.get_json()["details"]["fields"]
    assert {"settings.object", "settings.daily_limit_share", "settings.colour"} <= set(fields)
    missing = client.post("/api/v1/connections", headers=admin, json={
        "name": "sf-jwt", "kind": "salesforce", "settings": {"client_id": CLIENT_ID, "auth": "jwt"}})
    assert missing.status_code == 422
    assert {"settings.username", "settings.private_key"} <= set(missing.get_json()["details"]["fields"])


def test_web_server_flow_with_pkce_records_the_org(client, admin, org: MockOrg, app) -> None:
    create_connection(client, admin)
    r = client.get("/api/v1/connections/sf/authorize", headers=admin)
    assert r.status_code == 302
    location = urlsplit(r.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{LOGIN}/services/oauth2/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == "http://connector.test/oauth/callback"
    assert query["code_challenge_method"] == "S256" and len(query["state"]) >= 32

    done = client.get(f"/oauth/callback?code=aPrxCode1&state={query['state']}")
    assert done.status_code == 200, done.get_json()
    exchange = org.token_requests[-1]
    assert exchange["grant_type"] == ["authorization_code"] and exchange["code"] == ["aPrxCode1"]
    assert exchange["redirect_uri"] == ["http://connector.test/oauth/callback"]
    verifier = exchange["code_verifier"][0]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    assert challenge == query["code_challenge"]

    view = connection(client, admin)
    assert view["status"] == "connected" and view["authorized"] is True
    assert view["settings"]["org_id"] == ORG_ID and view["settings"]["instance_url"] == INSTANCE
    with app.app_context():
        from connector import connections

        conn = connections.find("sf")
        assert isinstance(conn, Connection) and conn.token is not None
        assert conn.token["access_token"] in org.issued and conn.token["refresh_token"] in org.issued
    again = client.get(f"/oauth/callback?code=aPrxCode1&state={query['state']}")
    assert again.status_code == 409


def test_refused_consent_and_forged_state(client, admin, org: MockOrg) -> None:
    create_connection(client, admin)
    client.get("/api/v1/connections/sf/authorize", headers=admin)
    forged = client.get("/oauth/callback?code=aPrx&state=not-ours")
    assert forged.status_code == 400
    denied = client.get("/oauth/callback?error=access_denied&error_description=end-user+denied+authorization")
    assert denied.status_code == 400 and "denied" in denied.get_json()["message"]
    assert org.calls["token"] == 0
    assert connection(client, admin)["status"] == "needs_authorization"


def test_login_host_outside_salesforce_is_refused(app, client, admin, org: MockOrg) -> None:
    r = client.post("/api/v1/connections", headers=admin, json={"name": "sf", "kind": "salesforce", "settings": {
        "client_id": CLIENT_ID, "login_url": "https://login.evil.example"}})
    assert r.status_code == 422 and r.get_json()["code"] == "host_not_allowed", r.get_json()
    assert "CONNECTOR_ALLOWED_INSTANCE_HOSTS" in r.get_json()["details"]["fields"]["settings.login_url"][0]
    # a connection stored before hosts were checked when set is still refused where the URL would be used
    create_connection(client, admin)
    with app.app_context():
        conn = db.session.scalar(select(Connection).where(Connection.name == "sf"))
        conn.settings = {**conn.settings, "login_url": "https://login.evil.example"}
        db.session.commit()
    r = client.get("/api/v1/connections/sf/authorize", headers=admin)
    assert r.status_code == 409
    body = r.get_json()
    assert body["code"] == "authorization_failed" and "CONNECTOR_ALLOWED_INSTANCE_HOSTS" in body["message"]
    assert org.calls["token"] == 0


def test_jwt_bearer_authorizes_without_a_browser(client, admin, org: MockOrg, private_pem: str) -> None:
    create_connection(client, admin, auth="jwt", username="integration@acme.example", private_key=private_pem,
                      client_secret=None)
    org.rsps.replace("POST", "https://login.salesforce.com/services/oauth2/token", json={
        "access_token": f"{ORG_ID[:15]}!AQjwtSession", "scope": "api", "instance_url": INSTANCE,
        "id": f"{LOGIN}/id/{ORG_ID}/0055g00000A1b2CAAR", "token_type": "Bearer", "issued_at": "1764320000000"})
    r = client.get("/api/v1/connections/sf/authorize", headers=admin)
    assert r.status_code == 200, r.get_json()
    view = r.get_json()
    assert view["status"] == "connected" and view["settings"]["org_id"] == ORG_ID
    assert view["secrets_set"] == ["private_key"]
    sent = parse_qs(org.rsps.calls[-1].request.body)
    assert sent["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"] and "assertion" in sent
    assert private_pem not in str(view)


def test_client_credentials_refused_says_why(client, admin, org: MockOrg) -> None:
    create_connection(client, admin, auth="client_credentials", login_url="https://acme.my.salesforce.com")
    org.rsps.add("POST", "https://acme.my.salesforce.com/services/oauth2/token", status=400,
                     json={"error": "invalid_grant", "error_description": "no client credentials user enabled"})
    r = client.get("/api/v1/connections/sf/authorize", headers=admin)
    assert r.status_code == 409
    assert "no client credentials user enabled" in r.get_json()["message"]
    assert connection(client, admin)["authorized"] is False
