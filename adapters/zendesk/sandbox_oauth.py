"""The sandbox's OAuth server: authorization codes with PKCE, a JSON token endpoint, rotating refresh tokens.

Behaves like Zendesk's: codes live 120 s and work once, each refresh deletes the previous access and
refresh tokens, ``expires_in``/``refresh_token_expires_in`` may be requested within Zendesk's bounds.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from .sandbox_http import JSON, ApiError, json_body

CODE_TTL = 120
INVALID_GRANT = {
    "error": "invalid_grant",
    "error_description": "The provided authorization grant is invalid, expired, or revoked, or does not match "
    "the redirection URI used in the authorization request.",
}
INVALID_CLIENT = {"error": "invalid_client", "error_description": "Client authentication failed"}


def s256(verifier: str) -> str:
    """The PKCE S256 code challenge of a verifier."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


class SandboxOAuth:
    """Issues and checks tokens for one OAuth client."""

    def __init__(
        self,
        clock: Callable[[], float],
        rng: random.Random,
        client_id: str,
        client_secret: str,
        access_token_ttl: int,
        refresh_token_ttl: int,
    ) -> None:
        self.clock = clock
        self.rng = rng
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_token_ttl = access_token_ttl
        self.refresh_token_ttl = refresh_token_ttl
        self._codes: dict[str, JSON] = {}
        self._access_tokens: dict[str, JSON] = {}
        self._refresh_tokens: dict[str, JSON] = {}

    def random_string(self, length: int) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def access_token_valid(self, token: str) -> bool:
        record = self._access_tokens.get(token)
        return record is not None and record["expires_at"] > self.clock()

    def expire_access_tokens(self) -> None:
        for record in self._access_tokens.values():
            record["expires_at"] = 0.0

    def revoke_refresh_tokens(self) -> None:
        self._refresh_tokens.clear()

    def authorize(self, request: Request) -> Response:
        """Auto-approve: 302 back to ``redirect_uri`` with ``code`` (or ``error``) and ``state``."""
        args = request.args
        if args.get("client_id") != self.client_id:
            raise ApiError(400, {"error": "invalid_client", "error_description": "unknown client_id"})
        redirect_uri = args.get("redirect_uri")
        if not redirect_uri or urlsplit(redirect_uri).scheme not in ("http", "https"):
            raise ApiError(400, {"error": "invalid_request", "error_description": "redirect_uri is required"})
        params: dict[str, str] = {}
        if args.get("response_type") != "code":
            params["error"] = "unsupported_response_type"
        elif args.get("code_challenge") and args.get("code_challenge_method", "plain") != "S256":
            params["error"] = "invalid_request"
            params["error_description"] = "code_challenge_method must be S256"
        else:
            code = self.random_string(40)
            self._codes[code] = {
                "redirect_uri": redirect_uri,
                "code_challenge": args.get("code_challenge"),
                "scope": args.get("scope") or "read",
                "expires_at": self.clock() + CODE_TTL,
            }
            params["code"] = code
        if args.get("state") is not None:
            params["state"] = args["state"]
        parts = urlsplit(redirect_uri)
        query = urlencode([*parse_qsl(parts.query), *params.items()])
        location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
        return Response(status=302, headers={"Location": location})

    def issue(self, scope: str, expires_in: Any = None, refresh_expires_in: Any = None) -> JSON:
        """A new token pair: the token endpoint's response body."""
        ttl = self.access_token_ttl if expires_in is None else int(expires_in)
        if expires_in is not None and not 300 <= ttl <= 172_800:
            raise ApiError(400, {"error": "invalid_request", "error_description": "expires_in out of range"})
        refresh_ttl = self.refresh_token_ttl if refresh_expires_in is None else int(refresh_expires_in)
        if refresh_expires_in is not None and not 604_800 <= refresh_ttl <= 7_776_000:
            raise ApiError(
                400, {"error": "invalid_request", "error_description": "refresh_token_expires_in out of range"}
            )
        now = self.clock()
        access, refresh = self.random_string(64), self.random_string(64)
        self._access_tokens[access] = {"scope": scope, "expires_at": now + ttl}
        self._refresh_tokens[refresh] = {"scope": scope, "expires_at": now + refresh_ttl, "access_token": access}
        return {
            "access_token": access,
            "token_type": "bearer",
            "scope": scope,
            "refresh_token": refresh,
            "expires_in": ttl,
            "refresh_token_expires_in": refresh_ttl,
        }

    def token(self, request: Request) -> tuple[int, JSON]:
        """``POST /oauth/tokens`` with a JSON body: ``authorization_code`` or ``refresh_token`` grants."""
        if request.mimetype != "application/json":
            raise ApiError(400, {"error": "invalid_request", "error_description": "the token request must be JSON"})
        body = json_body(request)
        secret = body.get("client_secret")
        if body.get("client_id") != self.client_id or (secret is not None and secret != self.client_secret):
            raise ApiError(401, INVALID_CLIENT)
        grant_type = body.get("grant_type")
        if grant_type == "authorization_code":
            record = self._codes.pop(str(body.get("code")), None)
            if record is None or record["expires_at"] < self.clock():
                raise ApiError(400, INVALID_GRANT)
            if body.get("redirect_uri") != record["redirect_uri"]:
                raise ApiError(400, INVALID_GRANT)
            if record["code_challenge"]:
                verifier = body.get("code_verifier")
                if not isinstance(verifier, str) or s256(verifier) != record["code_challenge"]:
                    raise ApiError(400, INVALID_GRANT)
            elif secret is None:
                raise ApiError(401, INVALID_CLIENT)
            scope = str(body.get("scope") or record["scope"])
            return 201, self.issue(scope, body.get("expires_in"), body.get("refresh_token_expires_in"))
        if grant_type == "refresh_token":
            old = self._refresh_tokens.pop(str(body.get("refresh_token")), None)
            if old is None or old["expires_at"] < self.clock():
                raise ApiError(400, INVALID_GRANT)
            self._access_tokens.pop(old["access_token"], None)
            scope = str(body.get("scope") or old["scope"])
            return 201, self.issue(scope, body.get("expires_in"), body.get("refresh_token_expires_in"))
        raise ApiError(400, {"error": "unsupported_grant_type", "error_description": f"{grant_type!r}"})
