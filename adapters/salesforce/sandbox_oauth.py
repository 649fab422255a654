"""The sandbox org's authorization server: Salesforce's ``/services/oauth2`` endpoints and sessions.

Token responses have Salesforce's shape (``access_token``, ``refresh_token`` for the web server flow only,
``signature``, ``scope``, ``instance_url``, ``id``, ``token_type``, ``issued_at``; never ``expires_in``);
errors are ``{"error", "error_description"}`` with status 400. Sessions live until they are expired on
purpose, which is how the sandbox makes a client meet ``401 INVALID_SESSION_ID``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from werkzeug.wrappers import Request, Response

from .oauth import JWT_BEARER_GRANT

CODE_LIFETIME = timedelta(minutes=15)
JWT_MAX_LIFETIME_SECONDS = 300
JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class _Grant:
    redirect_uri: str
    code_challenge: str | None
    issued: datetime


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return Response(
        json.dumps({"error": error, "error_description": description}), status=status, content_type=JSON_TYPE
    )


class SandboxAuthorizationServer:
    """One connected app (client id/secret, optional JWT certificate) and its run-as user in one org.

    The attributes are the org's configuration and may be changed by tests: ``client_credentials_enabled``
    (is a run-as user set for the client credentials flow), ``rotate_refresh_tokens``, and ``instance_url``
    (advertised in token responses; by default the host the client called).
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        username: str,
        org_id: str,
        user_id: str,
        clock: Callable[[], datetime],
        client_credentials_enabled: bool = True,
        rotate_refresh_tokens: bool = False,
        instance_url: str | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        self.org_id = org_id
        self.user_id = user_id
        self.client_credentials_enabled = client_credentials_enabled
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.instance_url = instance_url
        self._clock = clock
        self._lock = threading.Lock()
        self._grants: dict[str, _Grant] = {}
        self._sessions: set[str] = set()
        self._refresh_tokens: set[str] = set()
        self._jwt_keys: list[RSAKey] = []

    # -- controls -----------------------------------------------------------------------------------
    def register_jwt_key(self, public_key_pem: str | bytes) -> None:
        key = RSAKey.import_key(public_key_pem if isinstance(public_key_pem, bytes) else public_key_pem.encode())
        with self._lock:
            self._jwt_keys.append(key)

    def expire_access_tokens(self) -> None:
        with self._lock:
            self._sessions.clear()

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self._refresh_tokens.clear()
            self._sessions.clear()

    def has_session(self, request: Request) -> bool:
        """Whether the request carries a live access token (``Authorization: Bearer …``)."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not token:
            return False
        with self._lock:
            return token.strip() in self._sessions

    # -- endpoints ----------------------------------------------------------------------------------
    def authorize(self, request: Request) -> Response:
        """Auto-approve: redirect back with a code bound to the redirect URI and the PKCE challenge."""
        args = request.args
        if args.get("client_id") != self.client_id:
            return Response("error=invalid_client_id&error_description=client%20identifier%20invalid", status=400)
        redirect_uri = args.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return Response("error=redirect_uri_mismatch&error_description=redirect_uri%20must%20match", status=400)
        state = args.get("state")
        if args.get("response_type") != "code":
            return _redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
        if args.get("code_challenge_method", "S256") != "S256":
            return _redirect(redirect_uri, {"error": "invalid_request", "state": state})
        code = "aPrx" + secrets.token_urlsafe(32)
        with self._lock:
            self._grants[code] = _Grant(redirect_uri, args.get("code_challenge"), self._clock())
        return _redirect(redirect_uri, {"code": code, "state": state})

    def token(self, request: Request) -> Response:
        grant_type = request.form.get("grant_type")
        if grant_type == "authorization_code":
            return self._authorization_code(request)
        if grant_type == "refresh_token":
            return self._refresh(request)
        if grant_type == JWT_BEARER_GRANT:
            return self._jwt_bearer(request)
        if grant_type == "client_credentials":
            return self._client_credentials(request)
        return oauth_error("unsupported_grant_type", "grant type not supported")

    def identity(self, request: Request, org_id: str, user_id: str) -> Response:
        if not self.has_session(request):
            return Response("Bad_OAuth_Token", status=403)
        if org_id != self.org_id or user_id != self.user_id:
            return Response("Bad_Id", status=404)
        base = request.host_url.rstrip("/")
        body = {
            "id": f"{base}/id/{org_id}/{user_id}",
            "organization_id": org_id,
            "user_id": user_id,
            "username": self.username,
            "display_name": "Integration User",
            "active": True,
            "urls": {
                "rest": f"{base}/services/data/v{{version}}/",
                "query": f"{base}/services/data/v{{version}}/query/",
            },
        }
        return Response(json.dumps(body), content_type=JSON_TYPE)

    # -- grants -------------------------------------------------------------------------------------
    def _check_client(self, request: Request) -> Response | None:
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, client_secret = auth.username, auth.password
        else:
            client_id, client_secret = request.form.get("client_id"), request.form.get("client_secret")
        if client_id != self.client_id:
            return oauth_error("invalid_client_id", "client identifier invalid")
        if not client_secret or not hmac.compare_digest(client_secret, self.client_secret):
            return oauth_error("invalid_client", "invalid client credentials")
        return None

    def _authorization_code(self, request: Request) -> Response:
        refused = self._check_client(request)
        if refused is not None:
            return refused
        with self._lock:
            grant = self._grants.pop(request.form.get("code", ""), None)
        if grant is None or self._clock() - grant.issued > CODE_LIFETIME:
            return oauth_error("invalid_grant", "invalid authorization code")
        if request.form.get("redirect_uri") != grant.redirect_uri:
            return oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
        if grant.code_challenge is not None:
            verifier = request.form.get("code_verifier")
            if not verifier:
                return oauth_error("invalid_grant", "invalid code verifier")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if not hmac.compare_digest(digest, grant.code_challenge):
                return oauth_error("invalid_request", "invalid code verifier")
        return self._issue(request, refresh=True, scope="refresh_token api")

    def _refresh(self, request: Request) -> Response:
        refused = self._check_client(request)
        if refused is not None:
            return refused
        refresh_token = request.form.get("refresh_token", "")
        with self._lock:
            known = refresh_token in self._refresh_tokens
            if known and self.rotate_refresh_tokens:
                self._refresh_tokens.discard(refresh_token)
        if not known:
            return oauth_error("invalid_grant", "expired access/refresh token")
        return self._issue(request, refresh=self.rotate_refresh_tokens, scope="refresh_token api")

    def _client_credentials(self, request: Request) -> Response:
        refused = self._check_client(request)
        if refused is not None:
            return refused
        if not self.client_credentials_enabled:
            return oauth_error("invalid_grant", "no client credentials user enabled")
        return self._issue(request, refresh=False, scope="api")

    def _jwt_bearer(self, request: Request) -> Response:
        """Verify the RS256 assertion against the uploaded certificates; ``aud`` must be this login host."""
        assertion = request.form.get("assertion", "")
        with self._lock:
            keys = list(self._jwt_keys)
        claims: dict[str, Any] | None = None
        for key in keys:
            try:
                claims = jose_jwt.decode(assertion, key, algorithms=["RS256"]).claims
                break
            except (JoseError, ValueError):
                continue
        if claims is None:
            return oauth_error("invalid_grant", "invalid assertion")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if request.host_url.rstrip("/") not in audiences:
            return oauth_error("invalid_grant", "audience is invalid")
        if claims.get("iss") != self.client_id:
            return oauth_error("invalid_client_id", "client identifier invalid")
        expires = claims.get("exp")
        now = time.time()
        if not isinstance(expires, int | float) or not now < expires <= now + JWT_MAX_LIFETIME_SECONDS:
            return oauth_error("invalid_grant", "expired authorization code")
        if claims.get("sub") != self.username:
            return oauth_error("invalid_grant", "user hasn't approved this consumer")
        return self._issue(request, refresh=False, scope="api")

    def _issue(self, request: Request, *, refresh: bool, scope: str) -> Response:
        base = request.host_url.rstrip("/")
        access_token = f"{self.org_id[:15]}!AQ" + secrets.token_urlsafe(48)
        issued_at = str(int(time.time() * 1000))
        identity = f"{base}/id/{self.org_id}/{self.user_id}"
        # Documented: Base64(HMAC-SHA256(client secret, id + issued_at)), so clients can check the id URL.
        signature = base64.b64encode(
            hmac.new(self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
        ).decode()
        body: dict[str, Any] = {"access_token": access_token}
        with self._lock:
            self._sessions.add(access_token)
            if refresh:
                refresh_token = "5Aep861" + secrets.token_urlsafe(60)
                self._refresh_tokens.add(refresh_token)
                body["refresh_token"] = refresh_token
        body.update(
            {
                "signature": signature,
                "scope": scope,
                "instance_url": self.instance_url or base,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
            }
        )
        return Response(json.dumps(body), status=200, content_type=JSON_TYPE)


def _redirect(redirect_uri: str, params: dict[str, str | None]) -> Response:
    query = urlencode({key: value for key, value in params.items() if value is not None})
    separator = "&" if "?" in redirect_uri else "?"
    return Response(status=302, headers={"Location": f"{redirect_uri}{separator}{query}"})
