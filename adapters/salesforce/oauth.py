"""OAuth 2.0 against a Salesforce login host: web server flow with PKCE, refresh, JWT bearer, client
credentials.

Salesforce token responses carry no ``expires_in`` (fields: ``access_token``, ``refresh_token``,
``instance_url``, ``id``, ``token_type``, ``issued_at``, ``signature``, ``scope``): a session is known to be
dead only when the API answers ``401 INVALID_SESSION_ID``, which is why the client renews lazily. Every
token returned here has had its ``instance_url`` checked, so a bearer token is never sent to a host that is
not Salesforce's (or an admin's explicit allow-list entry).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import JWTBearerGrant
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from ..retry_after import parse_retry_after
from .errors import (
    AuthorizationRequired,
    FatalError,
    InstanceHostRefused,
    RetriableError,
    SalesforceError,
)
from .settings import SalesforceSettings

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_SECONDS = 180  # Salesforce wants exp within 3 minutes
TOKEN_TIMEOUT_SECONDS = 30.0

# Domains Salesforce serves orgs (and their login/My Domain hosts) from: commercial, legacy, Government
# Cloud Plus, and Salesforce on Alibaba Cloud. A host must be a subdomain of one of them.
SALESFORCE_DOMAINS: tuple[str, ...] = (
    "salesforce.com",
    "force.com",
    "cloudforce.com",
    "salesforce.mil",
    "sfcrmproducts.cn",
)

_ORG_ID = re.compile(r"^00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")
_USER_ID = re.compile(r"^005[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")


def check_host(settings: SalesforceSettings, url: str, what: str = "instance_url") -> str:
    """Return ``scheme://host[:port]`` of ``url`` if it is a Salesforce host or allow-listed, else refuse."""
    return check_origin(url, settings.allowed_instance_hosts, what)


def check_origin(url: str, allowed_hosts: Sequence[str], what: str = "instance_url") -> str:
    """Return ``scheme://host[:port]`` of ``url`` if it is a Salesforce host or in ``allowed_hosts``, else refuse
    (``InstanceHostRefused``); the connector also checks a connection's ``login_url`` with it when it is set.

    Salesforce hosts must use https on the default port. Allow-listed entries are ``host`` (any port) or
    ``host:port`` and may use http, which is what the loopback sandbox needs.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError as exc:
        raise InstanceHostRefused("INSTANCE_HOST_REFUSED", f"{what} is not a valid URL") from exc
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise InstanceHostRefused("INSTANCE_HOST_REFUSED", f"{what} {url!r} is not an http(s) origin")
    allowed = {entry.strip().lower() for entry in allowed_hosts}
    host_port = f"{host}:{port}" if port is not None else host
    if host_port in allowed or host in allowed:
        return f"{parts.scheme}://{parts.netloc.lower()}"
    on_salesforce = any(host.endswith("." + domain) for domain in SALESFORCE_DOMAINS)
    if on_salesforce and parts.scheme == "https" and port in (None, 443):
        return f"https://{host}"
    raise InstanceHostRefused(
        "INSTANCE_HOST_REFUSED",
        f"{what} host {host_port!r} is not a Salesforce domain ({', '.join(SALESFORCE_DOMAINS)}) and not in "
        "the allowed instance hosts",
    )


def org_id_from_identity_url(identity_url: str) -> str:
    """The org id from a token's identity URL ``https://login.salesforce.com/id/<orgId>/<userId>``."""
    return _identity_ids(identity_url)[0]


def user_id_from_identity_url(identity_url: str) -> str:
    """The user the token acts as, from the same identity URL."""
    return _identity_ids(identity_url)[1]


def _identity_ids(identity_url: str) -> tuple[str, str]:
    segments = [s for s in urlsplit(identity_url).path.split("/") if s]
    if len(segments) >= 3 and segments[-3] == "id":
        org_id, user_id = segments[-2], segments[-1]
        if _ORG_ID.match(org_id) and _USER_ID.match(user_id):
            return org_id, user_id
    raise ValueError(f"not a Salesforce identity URL: {identity_url!r}")


def authorization_url(settings: SalesforceSettings, state: str) -> tuple[str, str]:
    """The URL to send the admin's browser to, and the PKCE ``code_verifier`` to keep for the callback."""
    if not settings.redirect_uri:
        raise ValueError("redirect_uri is required for the web server flow")
    check_host(settings, settings.login_url, "login_url")
    code_verifier = generate_token(64)
    oauth = _session(settings)
    try:
        url, _ = oauth.create_authorization_url(settings.authorize_url, state=state, code_verifier=code_verifier)
    finally:
        oauth.close()
    return url, code_verifier


def exchange_code(settings: SalesforceSettings, code: str, code_verifier: str) -> dict[str, Any]:
    """Trade the authorization code from the callback for tokens (web server flow with PKCE)."""
    if not settings.redirect_uri:
        raise ValueError("redirect_uri is required for the web server flow")
    return _token_call(
        settings,
        lambda oauth: oauth.fetch_token(
            settings.token_url,
            grant_type="authorization_code",
            code=code,
            code_verifier=code_verifier,
            redirect_uri=settings.redirect_uri,
            timeout=TOKEN_TIMEOUT_SECONDS,
        ),
    )


def refresh(settings: SalesforceSettings, token: dict[str, Any]) -> dict[str, Any]:
    """A new access token from the refresh token; the old refresh token is kept when none comes back."""
    refresh_token = token.get("refresh_token")
    if not refresh_token:
        raise AuthorizationRequired("NO_REFRESH_TOKEN", "the stored token has no refresh token; re-authorize")
    fresh = _token_call(
        settings,
        lambda oauth: oauth.refresh_token(
            settings.token_url, refresh_token=refresh_token, timeout=TOKEN_TIMEOUT_SECONDS
        ),
    )
    return {**token, **fresh, "refresh_token": fresh.get("refresh_token") or refresh_token}


def build_jwt_assertion(settings: SalesforceSettings, now: float | None = None) -> str:
    """The RS256 assertion for the JWT bearer flow: ``iss`` client id, ``sub`` username, ``aud`` the login
    host (not the token URL), short ``exp``."""
    if not (settings.username and settings.private_key):
        raise ValueError("the jwt flow needs username and private_key")
    issued_at = int(now if now is not None else time.time())
    try:
        key = RSAKey.import_key(settings.private_key)
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError("private_key is not an RSA private key in PEM format") from exc
    if not key.is_private:
        raise ValueError("private_key is a public key; the JWT flow signs with the private key")
    assertion = JWTBearerGrant.sign(
        key=key,
        issuer=settings.client_id,
        audience=settings.login_url,
        subject=settings.username,
        issued_at=issued_at,
        expires_at=issued_at + JWT_LIFETIME_SECONDS,
        header={"alg": "RS256"},
    )
    return assertion.decode("ascii") if isinstance(assertion, bytes) else str(assertion)


def jwt_bearer(settings: SalesforceSettings) -> dict[str, Any]:
    """Server-to-server token without a user in the loop (no refresh token: re-run when it expires)."""
    assertion = build_jwt_assertion(settings)
    return _token_call(
        settings,
        lambda oauth: oauth.fetch_token(
            settings.token_url,
            grant_type=JWT_BEARER_GRANT,
            assertion=assertion,
            timeout=TOKEN_TIMEOUT_SECONDS,
            auth=_no_client_auth,
        ),
    )


def client_credentials(settings: SalesforceSettings) -> dict[str, Any]:
    """Token for the connected app's run-as user (``login_url`` must be the org's My Domain)."""
    return _token_call(
        settings,
        lambda oauth: oauth.fetch_token(
            settings.token_url, grant_type="client_credentials", timeout=TOKEN_TIMEOUT_SECONDS
        ),
    )


def renew(settings: SalesforceSettings, token: dict[str, Any] | None) -> dict[str, Any]:
    """A fresh token by whichever flow the connection uses."""
    if settings.auth == "jwt":
        return jwt_bearer(settings)
    if settings.auth == "client_credentials":
        return client_credentials(settings)
    if not token:
        raise AuthorizationRequired("NOT_AUTHORIZED", "the connection has not been authorized yet")
    return refresh(settings, token)


def _no_client_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """The JWT bearer grant authenticates by its signature alone: send only grant_type and assertion."""
    return request


def _session(settings: SalesforceSettings) -> OAuth2Session:
    method = "client_secret_post" if settings.client_secret else "none"
    oauth = OAuth2Session(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        token_endpoint_auth_method=method,
        redirect_uri=settings.redirect_uri,
        code_challenge_method="S256",
    )
    oauth.register_compliance_hook("access_token_response", _raise_for_token_error)
    oauth.register_compliance_hook("refresh_token_response", _raise_for_token_error)
    return oauth


def _token_call(settings: SalesforceSettings, call: Callable[[OAuth2Session], Any]) -> dict[str, Any]:
    check_host(settings, settings.login_url, "login_url")
    oauth = _session(settings)
    try:
        raw = call(oauth)
    except SalesforceError:
        raise
    except requests.RequestException as exc:
        raise RetriableError("CONNECTION_ERROR", f"token endpoint unreachable: {type(exc).__name__}") from exc
    finally:
        oauth.close()
    token = {key: value for key, value in dict(raw).items() if value is not None}
    # authlib adds expires_at only when expires_in exists; Salesforce sends neither.
    token.pop("expires_at", None)
    if not token.get("access_token") or not token.get("instance_url"):
        raise FatalError("INVALID_TOKEN_RESPONSE", "token response lacks access_token or instance_url")
    check_host(settings, token["instance_url"], "instance_url")
    return token


def _raise_for_token_error(resp: requests.Response) -> requests.Response:
    """Turn token-endpoint failures into the taxonomy before authlib parses the body."""
    if 200 <= resp.status_code < 300:
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise FatalError("INVALID_TOKEN_RESPONSE", "token endpoint answered without a JSON object", 200)
        return resp
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("error") or f"HTTP_{resp.status_code}")
    message = str(body.get("error_description") or resp.reason or "token request failed")
    if resp.status_code >= 500 or resp.status_code == 429:
        raise RetriableError(code, message, resp.status_code, parse_retry_after(resp.headers.get("Retry-After")))
    if code == "invalid_grant":
        raise AuthorizationRequired(code, message, resp.status_code)
    if code == "rate_limit_exceeded":
        raise RetriableError(code, message, resp.status_code, parse_retry_after(resp.headers.get("Retry-After")))
    raise FatalError(code, message, resp.status_code)
