"""OAuth flows against the loopback sandbox: web server + PKCE, refresh, JWT bearer, client credentials."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.oauth2.rfc7523 import JWTBearerGrant
from joserfc.jwk import RSAKey

from adapters.salesforce import oauth
from adapters.salesforce.client import SalesforceClient
from adapters.salesforce.errors import AuthorizationRequired, FatalError, InstanceHostRefused
from adapters.salesforce.sandbox import DEFAULT_ORG_ID, SalesforceSandbox
from adapters.tokens import InMemoryTokenStore

REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"


def start_flow(sandbox: SalesforceSandbox, state: str = "xyz") -> tuple[str, str, dict[str, str]]:
    settings = sandbox.settings(redirect_uri=REDIRECT_URI)
    url, verifier = oauth.authorization_url(settings, state)
    response = requests.get(url, allow_redirects=False, timeout=5)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    params = {key: values[0] for key, values in parse_qs(location.query).items()}
    return params["code"], verifier, params


def test_authorize_code_and_token_with_pkce(sandbox: SalesforceSandbox) -> None:
    code, verifier, params = start_flow(sandbox, state="state-42")
    assert params["state"] == "state-42"
    token = oauth.exchange_code(sandbox.settings(redirect_uri=REDIRECT_URI), code, verifier)
    assert set(token) >= {"access_token", "refresh_token", "instance_url", "id", "token_type", "issued_at", "signature"}
    assert "expires_in" not in token
    assert token["instance_url"] == sandbox.base_url
    assert oauth.org_id_from_identity_url(token["id"]) == DEFAULT_ORG_ID == sandbox.org_id
    assert sandbox.calls["authorize"] == 1 and sandbox.calls["token"] == 1


def test_a_wrong_code_verifier_is_refused(sandbox: SalesforceSandbox) -> None:
    code, _, _ = start_flow(sandbox)
    with pytest.raises(FatalError) as error:
        oauth.exchange_code(sandbox.settings(redirect_uri=REDIRECT_URI), code, "not-the-verifier" * 3)
    assert error.value.code == "invalid_request"


def test_a_code_is_single_use(sandbox: SalesforceSandbox) -> None:
    code, verifier, _ = start_flow(sandbox)
    settings = sandbox.settings(redirect_uri=REDIRECT_URI)
    oauth.exchange_code(settings, code, verifier)
    with pytest.raises(AuthorizationRequired):
        oauth.exchange_code(settings, code, verifier)


def test_instance_url_of_an_unlisted_host_is_refused(sandbox: SalesforceSandbox) -> None:
    code, verifier, _ = start_flow(sandbox)
    sandbox.oauth.instance_url = "http://127.0.0.2:8443"  # the token points the client at another host
    with pytest.raises(InstanceHostRefused):
        oauth.exchange_code(sandbox.settings(redirect_uri=REDIRECT_URI), code, verifier)


def test_expired_session_is_refreshed_transparently(
    connected: tuple[SalesforceSandbox, SalesforceClient, InMemoryTokenStore],
) -> None:
    sandbox, client, store = connected
    before = store.load()
    assert before is not None
    sandbox.expire_access_tokens()
    assert client.describe("Account").name == "Account"
    after = store.load()
    assert after is not None
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] == before["refresh_token"]
    assert client.token_renewals == 1
    assert sandbox.calls["token"] == 2


def test_revoked_refresh_token_means_reauthorize(
    connected: tuple[SalesforceSandbox, SalesforceClient, InMemoryTokenStore],
) -> None:
    sandbox, client, _ = connected
    sandbox.revoke_refresh_tokens()
    with pytest.raises(AuthorizationRequired) as error:
        client.limits()
    assert error.value.code == "invalid_grant"


def test_jwt_bearer_flow(sandbox: SalesforceSandbox, rsa_pem_pair: tuple[str, str]) -> None:
    private, public = rsa_pem_pair
    sandbox.register_jwt_key(public)
    store = InMemoryTokenStore()
    settings = sandbox.settings(auth="jwt", username=sandbox.username, private_key=private, client_secret=None)
    client = SalesforceClient(settings, store)
    assert client.limits()["DailyApiRequests"]["Max"] == 15000
    token = store.load()
    assert token is not None and "refresh_token" not in token
    sandbox.expire_access_tokens()
    client.limits()  # a new assertion is signed, no refresh token needed
    assert sandbox.calls["token"] == 2


def test_jwt_with_the_token_url_as_audience_is_refused(
    sandbox: SalesforceSandbox, rsa_pem_pair: tuple[str, str]
) -> None:
    private, public = rsa_pem_pair
    sandbox.register_jwt_key(public)
    settings = sandbox.settings()
    now = int(time.time())
    assertion = JWTBearerGrant.sign(
        key=RSAKey.import_key(private),
        issuer=sandbox.client_id,
        audience=settings.token_url,
        subject=sandbox.username,
        issued_at=now,
        expires_at=now + 120,
        header={"alg": "RS256"},
    )
    response = requests.post(
        settings.token_url,
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "audience is invalid"}


def test_jwt_signed_by_an_unknown_key_is_refused(sandbox: SalesforceSandbox, rsa_pem_pair: tuple[str, str]) -> None:
    private, _ = rsa_pem_pair  # the public key was never uploaded to this org
    settings = sandbox.settings(auth="jwt", username=sandbox.username, private_key=private)
    with pytest.raises(AuthorizationRequired):
        oauth.jwt_bearer(settings)


def test_client_credentials_flow(sandbox: SalesforceSandbox) -> None:
    store = InMemoryTokenStore()
    client = SalesforceClient(sandbox.settings(auth="client_credentials"), store)
    assert store.load() is None
    client.limits()
    token = store.load()
    assert token is not None and oauth.org_id_from_identity_url(token["id"]) == sandbox.org_id
    sandbox.oauth.client_credentials_enabled = False
    with pytest.raises(AuthorizationRequired):
        oauth.client_credentials(sandbox.settings(auth="client_credentials"))
