"""OAuth against a Salesforce login host, on the documented token response shapes (no expires_in)."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from joserfc import jwt
from joserfc.jwk import RSAKey

from adapters.salesforce import oauth
from adapters.salesforce.errors import AuthorizationRequired, FatalError, InstanceHostRefused, RetriableError
from adapters.salesforce.settings import SalesforceSettings

LOGIN = "https://login.salesforce.com"
TOKEN_URL = f"{LOGIN}/services/oauth2/token"
INSTANCE = "https://acme.my.salesforce.com"
IDENTITY = f"{LOGIN}/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS"


def web_settings(**overrides: object) -> SalesforceSettings:
    values: dict[str, object] = {
        "client_id": "3MVG9connector",
        "client_secret": "s3cret",
        "redirect_uri": "https://connector.example.com/oauth/callback",
    }
    values.update(overrides)
    return SalesforceSettings(**values)  # type: ignore[arg-type]


def token_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "access_token": "00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA0lBog.39AsX.LVpxezPwuX5VAIrrbbHMuol7GQx",
        "refresh_token": "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJrYiJ4nt3Hym6l7Lm38cfoXB8yqjx",
        "signature": "SSSbLO/gBhmmyNUvN18ODBDFYHzakxOMgqYtu+hDPsc=",
        "scope": "refresh_token api",
        "instance_url": INSTANCE,
        "id": IDENTITY,
        "token_type": "Bearer",
        "issued_at": "1558553873237",
    }
    body.update(overrides)
    return body


def form(request: responses.Call) -> dict[str, str]:
    body = request.request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {key: values[0] for key, values in parse_qs(text).items()}


def test_authorization_url_carries_pkce_s256_and_state() -> None:
    url, verifier = oauth.authorization_url(web_settings(), "state-123")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{LOGIN}/services/oauth2/authorize"
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == "3MVG9connector"
    assert query["redirect_uri"] == "https://connector.example.com/oauth/callback"
    assert query["state"] == "state-123"
    assert query["code_challenge_method"] == "S256"
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert query["code_challenge"] == expected
    assert 43 <= len(verifier) <= 128


def test_authorization_url_needs_redirect_uri() -> None:
    with pytest.raises(ValueError, match="redirect_uri"):
        oauth.authorization_url(web_settings(redirect_uri=None), "s")


@responses.activate
def test_exchange_code_posts_verifier_and_returns_token_without_expiry() -> None:
    responses.post(TOKEN_URL, json=token_body())
    token = oauth.exchange_code(web_settings(), "aPrxcode==", "verifier-abc")
    sent = form(responses.calls[0])
    assert sent == {
        "grant_type": "authorization_code",
        "code": "aPrxcode==",
        "code_verifier": "verifier-abc",
        "redirect_uri": "https://connector.example.com/oauth/callback",
        "client_id": "3MVG9connector",
        "client_secret": "s3cret",
    }
    assert token["instance_url"] == INSTANCE
    assert token["refresh_token"].startswith("5Aep861")
    assert "expires_at" not in token and "expires_in" not in token
    assert oauth.org_id_from_identity_url(token["id"]) == "00Dxx0000001gPLEAY"


@responses.activate
def test_token_on_a_foreign_instance_host_is_refused() -> None:
    responses.post(TOKEN_URL, json=token_body(instance_url="https://acme.my.salesforce.com.attacker.io"))
    with pytest.raises(InstanceHostRefused) as error:
        oauth.exchange_code(web_settings(), "code", "verifier")
    assert error.value.code == "INSTANCE_HOST_REFUSED"


@responses.activate
def test_refresh_without_refresh_token_in_response_keeps_the_old_one() -> None:
    fresh = token_body(access_token="00Dxx!new")
    del fresh["refresh_token"]
    responses.post(TOKEN_URL, json=fresh)
    old = token_body(access_token="00Dxx!old", refresh_token="5Aep861-old")
    token = oauth.refresh(web_settings(), old)
    assert form(responses.calls[0]) == {
        "grant_type": "refresh_token",
        "refresh_token": "5Aep861-old",
        "client_id": "3MVG9connector",
        "client_secret": "s3cret",
    }
    assert token["access_token"] == "00Dxx!new"
    assert token["refresh_token"] == "5Aep861-old"


@responses.activate
def test_refresh_with_rotated_refresh_token_takes_the_new_one() -> None:
    responses.post(TOKEN_URL, json=token_body(access_token="00Dxx!new", refresh_token="5Aep861-rotated"))
    token = oauth.refresh(web_settings(), token_body(refresh_token="5Aep861-old"))
    assert token["refresh_token"] == "5Aep861-rotated"


@responses.activate
def test_refresh_invalid_grant_requires_authorization() -> None:
    responses.post(
        TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "expired access/refresh token"}
    )
    with pytest.raises(AuthorizationRequired) as error:
        oauth.refresh(web_settings(), token_body())
    assert error.value.code == "invalid_grant"
    assert error.value.message == "expired access/refresh token"


def test_refresh_without_a_refresh_token_requires_authorization() -> None:
    token = token_body()
    del token["refresh_token"]
    with pytest.raises(AuthorizationRequired):
        oauth.refresh(web_settings(), token)


@responses.activate
def test_token_endpoint_outage_is_retriable_with_retry_after() -> None:
    responses.post(TOKEN_URL, status=503, body="Service Unavailable", headers={"Retry-After": "30"})
    with pytest.raises(RetriableError) as error:
        oauth.refresh(web_settings(), token_body())
    assert error.value.status == 503
    assert error.value.retry_after == 30.0


@responses.activate
def test_bad_client_secret_is_fatal() -> None:
    responses.post(
        TOKEN_URL, status=400, json={"error": "invalid_client", "error_description": "invalid client credentials"}
    )
    with pytest.raises(FatalError) as error:
        oauth.exchange_code(web_settings(), "code", "verifier")
    assert error.value.code == "invalid_client"


@pytest.mark.parametrize("login_url", ["https://login.salesforce.com", "https://acme.my.salesforce.com"])
def test_jwt_assertion_audience_is_the_login_host(login_url: str, rsa_key_pair: tuple[str, str]) -> None:
    private, public = rsa_key_pair
    settings = SalesforceSettings(
        client_id="3MVG9connector",
        auth="jwt",
        username="integration@acme.com",
        private_key=private,
        login_url=login_url,
    )
    assertion = oauth.build_jwt_assertion(settings, now=1_800_000_000)
    decoded = jwt.decode(assertion, RSAKey.import_key(public), algorithms=["RS256"])
    assert decoded.header["alg"] == "RS256"
    assert decoded.claims["aud"] == login_url
    assert decoded.claims["iss"] == "3MVG9connector"
    assert decoded.claims["sub"] == "integration@acme.com"
    assert decoded.claims["exp"] - 1_800_000_000 <= 180


@responses.activate
def test_jwt_bearer_posts_only_grant_and_assertion(rsa_key_pair: tuple[str, str]) -> None:
    private, _ = rsa_key_pair
    body = token_body()
    del body["refresh_token"]
    responses.post(TOKEN_URL, json=body)
    settings = SalesforceSettings(
        client_id="3MVG9connector", auth="jwt", username="integration@acme.com", private_key=private
    )
    token = oauth.jwt_bearer(settings)
    sent = form(responses.calls[0])
    assert set(sent) == {"grant_type", "assertion"}
    assert sent["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert token["access_token"] == body["access_token"]


@responses.activate
def test_client_credentials_posts_client_secret() -> None:
    my_domain = "https://acme.my.salesforce.com"
    body = token_body()
    del body["refresh_token"]
    responses.post(f"{my_domain}/services/oauth2/token", json=body)
    settings = SalesforceSettings(
        client_id="3MVG9connector", client_secret="s3cret", auth="client_credentials", login_url=my_domain
    )
    oauth.client_credentials(settings)
    assert form(responses.calls[0]) == {
        "grant_type": "client_credentials",
        "client_id": "3MVG9connector",
        "client_secret": "s3cret",
    }


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.my.salesforce.com",
        "https://na139.salesforce.com",
        "https://acme--uat.sandbox.my.salesforce.com",
        "https://acme.my.salesforce.mil",
        "https://acme.cloudforce.com",
        "https://acme.my.site.com.force.com",
    ],
)
def test_salesforce_hosts_are_accepted(url: str) -> None:
    assert oauth.check_host(web_settings(), url) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://salesforce.com.attacker.io",
        "https://evilsalesforce.com",
        "https://salesforce.com",
        "http://acme.my.salesforce.com",
        "https://acme.my.salesforce.com:8443",
        "https://user@acme.my.salesforce.com",
        "ftp://acme.my.salesforce.com",
        "https://127.0.0.1:8443",
        "not a url",
    ],
)
def test_other_hosts_are_refused(url: str) -> None:
    with pytest.raises(InstanceHostRefused):
        oauth.check_host(web_settings(), url)


def test_allow_list_accepts_host_or_host_and_port() -> None:
    exact = web_settings(allowed_instance_hosts=("127.0.0.1:8123",))
    assert oauth.check_host(exact, "http://127.0.0.1:8123") == "http://127.0.0.1:8123"
    with pytest.raises(InstanceHostRefused):
        oauth.check_host(exact, "http://127.0.0.1:9999")
    any_port = web_settings(allowed_instance_hosts=("localhost",))
    assert oauth.check_host(any_port, "http://localhost:9999") == "http://localhost:9999"


def test_login_url_outside_salesforce_is_refused_before_any_request() -> None:
    with pytest.raises(InstanceHostRefused):
        oauth.authorization_url(web_settings(login_url="https://login.attacker.io"), "s")


@pytest.mark.parametrize(
    ("url", "org"),
    [
        (IDENTITY, "00Dxx0000001gPLEAY"),
        ("https://test.salesforce.com/id/00D000000000001EAA/005000000000001AAA", "00D000000000001EAA"),
        ("http://127.0.0.1:5000/id/00D000000000001/005000000000001", "00D000000000001"),
    ],
)
def test_org_id_from_identity_url(url: str, org: str) -> None:
    assert oauth.org_id_from_identity_url(url) == org


@pytest.mark.parametrize(
    "url", ["https://login.salesforce.com/id/005xx000001SwiUAAS/00Dxx0000001gPLEAY", "https://x/id/00D", ""]
)
def test_org_id_from_a_bad_identity_url_is_an_error(url: str) -> None:
    with pytest.raises(ValueError):
        oauth.org_id_from_identity_url(url)


def test_token_response_body_is_never_in_error_messages() -> None:
    error = AuthorizationRequired("invalid_grant", "expired access/refresh token", 400)
    assert "access_token" not in str(error) and json.dumps(token_body()["access_token"]) not in str(error)


def test_a_private_key_that_is_not_pem_is_reported(rsa_key_pair: tuple[str, str]) -> None:
    _, public = rsa_key_pair
    for key in ("not a key", public):
        settings = SalesforceSettings(client_id="3MVG9connector", auth="jwt", username="u@acme.com", private_key=key)
        with pytest.raises(ValueError, match="private"):
            oauth.build_jwt_assertion(settings)
