"""Principals, API tokens (stored hashed) and the role checks every route declares (SPEC §7.5)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import current_app, g, request
from sqlalchemy import select

from connector import audit
from connector.db import db
from connector.governance.policy import COMMITTEE_ROLES
from connector.models import ApiToken, Principal

ROLES = ("admin", "reviewer", "intake", "billing", "auditor")
TOKEN_PREFIX = "lec_"
F = TypeVar("F", bound=Callable[..., Any])


class AuthError(Exception):
    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def role_problem(role: str, committee_roles: Sequence[str] = ()) -> str | None:
    """Why a role and committee roles cannot go together (tokens and sign-in accounts), or None."""
    if role not in ROLES:
        return f"Unknown role '{role}'. Use one of: {', '.join(ROLES)}."
    unknown = sorted(set(committee_roles) - set(COMMITTEE_ROLES))
    if unknown:
        return f"Unknown committee role(s) {', '.join(unknown)}. Use: {', '.join(COMMITTEE_ROLES)}."
    if committee_roles and role != "reviewer":
        return "Only reviewers hold committee roles."
    return None


def create_token(name: str, role: str, committee_roles: Sequence[str] = (), actor: str = "cli") -> str:
    """Create (or update) the principal ``name`` and issue it a new token; returns the clear token once."""
    problem = role_problem(role, committee_roles)
    if problem:
        raise ValueError(problem)
    principal = db.session.scalar(select(Principal).where(Principal.name == name))
    if principal is None:
        principal = Principal(name=name, role=role, committee_roles=list(committee_roles))
        db.session.add(principal)
    else:
        principal.role, principal.committee_roles = role, list(committee_roles)
    db.session.flush()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(principal_id=principal.id, token_hash=hash_token(token), prefix=token[:10]))
    audit.append(actor, "token.created", f"principal:{name}",
                 {"principal": name, "role": role, "committee_roles": list(committee_roles),
                  "token_prefix": token[:10]})
    return token


def authenticate() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "unauthenticated", "Send an API token: 'Authorization: Bearer <token>'.")
    digest = hash_token(token.strip())
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        raise AuthError(401, "invalid_token", "This API token is unknown or revoked.")
    return row.principal


def current_principal() -> Principal:
    return g.connector_principal  # type: ignore[no-any-return]


_PRINCIPAL = "connector.principal"  # in the WSGI environ: one request's, never another's (``g`` can outlive it)


def _authorize(roles: Sequence[str]) -> Principal:
    """The request's principal, authenticated once per request, if its role is one of ``roles``."""
    principal: Principal | None = request.environ.get(_PRINCIPAL)
    if principal is None:
        principal = authenticate()
        request.environ[_PRINCIPAL] = principal
    if principal.role not in roles:
        raise AuthError(403, "forbidden", f"The {principal.role} role cannot do this; it needs one of: "
                        f"{', '.join(roles)}.", {"required_roles": list(roles)})
    g.connector_principal = principal
    return principal


def requires(*roles: str) -> Callable[[F], F]:
    """Allow only principals whose role is one of ``roles`` (401 without a token, 403 otherwise)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _authorize(roles)
            return view(*args, **kwargs)

        wrapper._connector_roles = roles  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def authorize_endpoint() -> None:
    """The route's ``requires`` check, run before anything reads the request: without a token a caller gets a 401
    and with the wrong role a 403, never a 422 that validated (and described) a body it may not send.

    flask-smorest's decorators wrap ``requires`` with ``functools.wraps``, so the view Flask dispatches to still
    carries the roles it declared."""
    if request.method == "OPTIONS":  # Flask answers it without calling the view: the allowed methods, no data
        return
    view = current_app.view_functions.get(request.endpoint or "")
    roles = getattr(view, "_connector_roles", None)
    if roles is not None:
        _authorize(roles)

