"""Zendesk OAuth: authorization code with PKCE (S256) and rotating refresh tokens, through authlib.

Zendesk's token endpoint (``POST {base}/oauth/tokens``) takes a JSON body rather than the form encoding of
RFC 6749, so the session registers a client authentication method that adds the client credentials and
re-encodes the whole token request as JSON. Every refresh returns a new refresh token and deletes the old
pair: callers must store the returned token before using it (``ZendeskClient`` does).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from authlib.common.encoding import to_unicode
from authlib.common.security import generate_token
from authlib.common.urls import url_decode
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from ..retry_after import parse_retry_after
from .errors import AuthorizationRequired, FatalError, RateLimited, RetriableError
from .settings import OAUTH_SCOPE, ZendeskSettings

Clock = Callable[[], float]

JSON_CLIENT_AUTH = "client_secret_json"
#: OAuth error codes after which only a new authorization helps.
_AUTHORIZATION_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "access_denied"})
DEFAULT_TIMEOUT = 30.0
#: How long to wait after a 429 whose ``Retry-After`` is missing or unreadable.
DEFAULT_RATE_LIMIT_WAIT = 60.0


def _json_client_auth(
    client: Any, method: str, uri: str, headers: Any, body: str | bytes | None
) -> tuple[str, Any, str]:
    """Add the client credentials and send the token request as JSON, as Zendesk requires."""
    params = dict(url_decode(to_unicode(body or "")))
    params["client_id"] = client.client_id
    if client.client_secret:
        params["client_secret"] = client.client_secret
    payload = json.dumps(params)
    headers["Content-Type"] = "application/json"
    headers["Accept"] = "application/json"
    headers["Content-Length"] = str(len(payload.encode("utf-8")))
    return uri, headers, payload


def rate_limit_wait(resp: requests.Response, now: float | None = None) -> float:
    """Seconds a throttling answer asks us to wait: its ``Retry-After`` (an HTTP date counted from ``now``), or a
    minute when it names none."""
    wait = parse_retry_after(resp.headers.get("Retry-After"), now)
    return DEFAULT_RATE_LIMIT_WAIT if wait is None else wait


def _check_transport_status(resp: requests.Response) -> requests.Response:
    """Turn throttling and server failures into retriable errors before authlib parses the body."""
    if resp.status_code == 429:
        raise RateLimited(rate_limit_wait(resp), "token endpoint rate limited")
    if resp.status_code >= 500:
        raise RetriableError("server_error", f"token endpoint answered {resp.status_code}", resp.status_code)
    return resp


def _session(settings: ZendeskSettings, timeout: float) -> OAuth2Session:
    if not settings.client_id:
        raise AuthorizationRequired("missing_client", "the connection has no OAuth client_id")
    session = OAuth2Session(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        token_endpoint_auth_method=JSON_CLIENT_AUTH,
        scope=OAUTH_SCOPE,
        redirect_uri=settings.redirect_uri,
        code_challenge_method="S256",
        default_timeout=timeout,
    )
    session.register_client_auth_method((JSON_CLIENT_AUTH, _json_client_auth))
    session.register_compliance_hook("access_token_response", _check_transport_status)
    session.register_compliance_hook("refresh_token_response", _check_transport_status)
    return session


def normalize_token(raw: Mapping[str, Any], now: float) -> dict[str, Any]:
    """A plain, JSON-serialisable token with absolute expiry times computed from ``now``.

    ``expires_at`` is ``None`` when Zendesk did not say the access token expires.
    """
    token: dict[str, Any] = {
        "access_token": raw["access_token"],
        "token_type": str(raw.get("token_type") or "bearer").lower(),
        "scope": raw.get("scope"),
        "refresh_token": raw.get("refresh_token"),
        "expires_in": raw.get("expires_in"),
        "refresh_token_expires_in": raw.get("refresh_token_expires_in"),
    }
    token["expires_at"] = now + float(raw["expires_in"]) if raw.get("expires_in") is not None else None
    token["refresh_token_expires_at"] = (
        now + float(raw["refresh_token_expires_in"]) if raw.get("refresh_token_expires_in") is not None else None
    )
    return token


def _token_call(call: Callable[[], Mapping[str, Any]], clock: Clock) -> dict[str, Any]:
    try:
        raw = call()
    except OAuthError as exc:
        code = str(getattr(exc, "error", None) or "oauth_error")
        message = str(getattr(exc, "description", None) or "the token endpoint refused the request")
        if code in _AUTHORIZATION_ERRORS:
            raise AuthorizationRequired(code, message, 400) from exc
        raise FatalError(code, message, 400) from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise RetriableError("connection_error", f"token endpoint unreachable: {exc}") from exc
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        raise FatalError("token_endpoint_error", f"token endpoint answered {status}", status) from exc
    if "access_token" not in raw:
        raise FatalError("invalid_token_response", "the token endpoint returned no access_token")
    return normalize_token(raw, clock())


def new_code_verifier() -> str:
    """A high-entropy PKCE code verifier (RFC 7636: 43 to 128 unreserved characters)."""
    return generate_token(64)


def authorization_url(settings: ZendeskSettings, state: str, code_verifier: str | None = None) -> tuple[str, str]:
    """The URL to send the admin to, and the PKCE code verifier to keep (server side) until the callback."""
    verifier = code_verifier or new_code_verifier()
    session = _session(settings, DEFAULT_TIMEOUT)
    url, _ = session.create_authorization_url(settings.authorize_url, state=state, code_verifier=verifier)
    return url, verifier


def exchange_code(
    settings: ZendeskSettings,
    code: str,
    code_verifier: str,
    *,
    clock: Clock = time.time,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """Exchange the authorization code from the callback for a token (access + refresh)."""
    session = _session(settings, timeout)
    return _token_call(
        lambda: session.fetch_token(
            settings.token_url,
            grant_type="authorization_code",
            code=code,
            code_verifier=code_verifier,
            redirect_uri=settings.redirect_uri,
            scope=OAUTH_SCOPE,
        ),
        clock,
    )


def refresh(
    settings: ZendeskSettings,
    token: Mapping[str, Any],
    *,
    clock: Clock = time.time,
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """Trade the refresh token for a new pair. The old pair is dead once this returns: store the result first.

    Raises ``AuthorizationRequired`` when there is no refresh token or Zendesk refuses it (``invalid_grant``).
    """
    refresh_token = token.get("refresh_token")
    if not refresh_token:
        raise AuthorizationRequired("no_refresh_token", "the stored token cannot be refreshed; authorize again")
    session = _session(settings, timeout)
    session.token = dict(token)
    return _token_call(lambda: session.refresh_token(settings.token_url, refresh_token=refresh_token), clock)
