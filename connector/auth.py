"""Principals, API tokens (stored hashed; issued with fixed roles, expiring, revocable) and the role checks every
route declares (SPEC §7.5)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import current_app, g, request
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from connector import audit
from connector.db import db
from connector.governance.errors import InvalidInput, StateConflict
from connector.governance.policy import COMMITTEE_ROLES
from connector.models import ApiToken, Principal, utcnow
from connector.policy_store import current_policy
from connector.representation import iso

ROLES = ("admin", "reviewer", "intake", "billing", "auditor")
#: an app inside a source (the Zendesk ticket sidebar) reading the status of one connection's records: a token
#: role only (no web account), and its principal is named for the connection it reads, ``source-app:<name>``
SOURCE_APP = "source_app"
SOURCE_APP_PREFIX = "source-app:"
TOKEN_ROLES = (*ROLES, SOURCE_APP)
#: what a route may ask of a reviewer's committee roles besides the role: to hold the policy's chair role, or any
CHAIR, MEMBER = "chair", "member"
TOKEN_PREFIX = "lec_"
F = TypeVar("F", bound=Callable[..., Any])


class AuthError(Exception):
    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def role_problem(role: str, committee_roles: Sequence[str] = (), roles: Sequence[str] = ROLES) -> str | None:
    """Why a role and committee roles cannot go together (sign-in accounts; tokens pass ``TOKEN_ROLES``), or
    None."""
    if role not in roles:
        return f"Unknown role '{role}'. Use one of: {', '.join(roles)}."
    unknown = sorted(set(committee_roles) - set(COMMITTEE_ROLES))
    if unknown:
        return f"Unknown committee role(s) {', '.join(unknown)}. Use: {', '.join(COMMITTEE_ROLES)}."
    if committee_roles and role != "reviewer":
        return "Only reviewers hold committee roles."
    return None


#: the longest principal name: its audit subject ``principal:<name>`` must fit the 200-character column
MAX_PRINCIPAL_NAME = 200 - len("principal:")
#: a token's life unless said otherwise; ``expires_in_days=0`` issues one that never expires
DEFAULT_TOKEN_DAYS = 365
MAX_TOKEN_DAYS = 3650
#: how stale ``last_used_at`` may be: written at most once a minute, so most requests write nothing
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    """A new token: its row and the clear token, which exists only here (the row holds its hash)."""

    row: ApiToken
    secret: str


def _roles_text(role: str, committee_roles: Sequence[str]) -> str:
    return f"{role} ({', '.join(committee_roles)})" if committee_roles else role


def _same_roles(principal: Principal | ApiToken, role: str, committee_roles: Sequence[str]) -> bool:
    return principal.role == role and set(principal.committee_roles or ()) == set(committee_roles)


def live_tokens(principal: Principal, now: datetime | None = None) -> list[ApiToken]:
    """The principal's tokens that still authenticate (neither revoked nor expired)."""
    now = now or utcnow()
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.principal_id == principal.id, ApiToken.revoked_at.is_(None),
                               or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
        .order_by(ApiToken.id)))


def _revoke(row: ApiToken, actor: str, reason: str, now: datetime) -> None:
    row.revoked_at, row.revoked_by = now, actor
    audit.append(actor, "token.revoked", f"principal:{row.principal.name}",
                 {"principal": row.principal.name, "token_id": row.id, "token_prefix": row.prefix, "reason": reason})


def _principal_for(name: str, role: str, committee_roles: Sequence[str], replace: bool, actor: str,
                   now: datetime) -> Principal:
    """The principal ``name`` holding these roles: new, unchanged, or (``replace``) its old tokens revoked first.

    A token's roles are fixed when it is issued, so a principal's roles change only with all its tokens revoked."""
    principal = db.session.scalar(select(Principal).where(Principal.name == name))
    if principal is None:
        principal = Principal(name=name, role=role, committee_roles=list(committee_roles))
        db.session.add(principal)
        db.session.flush()
        return principal
    if not replace and not _same_roles(principal, role, committee_roles):
        live = len(live_tokens(principal, now))
        raise StateConflict(
            "token_roles_differ",
            f"'{name}' holds the role {_roles_text(principal.role, principal.committee_roles)}, and a token keeps "
            f"the roles it was issued with. To issue a {_roles_text(role, committee_roles)} token, replace its "
            f"{live} live token(s): add --replace (API: \"replace\": true), or use another name.",
            {"principal": name, "role": principal.role, "committee_roles": list(principal.committee_roles),
             "live_tokens": live})
    if replace:
        for row in live_tokens(principal, now):
            _revoke(row, actor, "replaced", now)
    principal.role, principal.committee_roles = role, list(committee_roles)
    return principal


def new_token_secret() -> str:
    """A fresh clear token, for a holder that must have it before it is stored (provisioning puts it in an app's
    secure setting first, then issues it with ``issue_token(..., secret=...)``: the old one stays valid until then)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def issue_token(name: str, role: str, committee_roles: Sequence[str] = (), *, actor: str,
                expires_in_days: int = DEFAULT_TOKEN_DAYS, replace: bool = False,
                secret: str | None = None) -> IssuedToken:
    """Issue the principal ``name`` (created if new) a token with these roles for ``expires_in_days`` (0: no
    expiry). ``replace`` revokes the principal's live tokens in the same transaction (and may change its roles);
    without it, other roles than the principal's are refused (409 ``token_roles_differ``). ``secret``: the clear
    token to store (from ``new_token_secret``), else a new one."""
    if not name.strip() or len(name) > MAX_PRINCIPAL_NAME:
        raise InvalidInput("invalid_name", f"Name the principal in 1 to {MAX_PRINCIPAL_NAME} characters.",
                           {"fields": {"name": [f"1 to {MAX_PRINCIPAL_NAME} characters"]}})
    problem = role_problem(role, committee_roles, TOKEN_ROLES)
    if problem:
        raise InvalidInput("invalid_role", problem, {"fields": {"committee_roles": [problem]}})
    if role == SOURCE_APP and not name.startswith(SOURCE_APP_PREFIX):
        message = (f"A {SOURCE_APP} token reads one connection's records: name it {SOURCE_APP_PREFIX}<connection> "
                   "(provisioning a Zendesk connection issues it).")
        raise InvalidInput("invalid_name", message, {"fields": {"name": [message]}})
    if not 0 <= expires_in_days <= MAX_TOKEN_DAYS:
        message = f"Give the days a token lives as 1 to {MAX_TOKEN_DAYS}, or 0 for a token that never expires."
        raise InvalidInput("invalid_expiry", message, {"fields": {"expires_in_days": [message]}})
    now = utcnow()
    if secret is not None and not (secret.startswith(TOKEN_PREFIX) and len(secret) >= len(new_token_secret())):
        raise ValueError("a given token secret must come from new_token_secret()")
    principal = _principal_for(name, role, committee_roles, replace, actor, now)
    secret = secret or new_token_secret()
    row = ApiToken(principal=principal, token_hash=hash_token(secret), prefix=secret[:10], role=role,
                   committee_roles=list(committee_roles), created_at=now,
                   expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None)
    db.session.add(row)
    db.session.flush()
    audit.append(actor, "token.created", f"principal:{name}",
                 {"principal": name, "role": role, "committee_roles": list(committee_roles), "token_id": row.id,
                  "token_prefix": row.prefix, "expires_at": iso(row.expires_at), "replace": replace})
    return IssuedToken(row, secret)


def create_token(name: str, role: str, committee_roles: Sequence[str] = (), actor: str = "cli") -> str:
    """Issue ``name`` a token (default life) and return the clear token, shown once."""
    return issue_token(name, role, committee_roles, actor=actor).secret


def revoke_token(token_id: int, actor: str) -> ApiToken | None:
    """Revoke one token (already revoked: unchanged); None when there is no such token."""
    row = db.session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        _revoke(row, actor, "revoked", utcnow())
    return row


def revoke_principal_tokens(name: str, actor: str) -> list[ApiToken]:
    """Revoke every token of the principal ``name`` not yet revoked (expired ones too: they are then final)."""
    principal = db.session.scalar(select(Principal).where(Principal.name == name))
    if principal is None:
        raise InvalidInput("unknown_principal", f"No principal is named '{name}'; `tokens list` shows them.",
                           {"fields": {"name": ["unknown principal"]}})
    now = utcnow()
    rows = list(db.session.scalars(select(ApiToken).where(ApiToken.principal_id == principal.id,
                                                          ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)))
    for row in rows:
        _revoke(row, actor, "revoked", now)
    return rows


def token_status(row: ApiToken, now: datetime | None = None) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def token_view(row: ApiToken) -> dict[str, Any]:
    """What anyone may see of a token: never the token itself, nor its hash."""
    return {"id": row.id, "name": row.principal.name, "role": row.role, "committee_roles": list(row.committee_roles),
            "prefix": row.prefix, "status": token_status(row), "created_at": iso(row.created_at),
            "expires_at": iso(row.expires_at), "last_used_at": iso(row.last_used_at),
            "revoked_at": iso(row.revoked_at), "revoked_by": row.revoked_by}


def _refusal(row: ApiToken | None, now: datetime) -> AuthError | None:
    """Why this token does not authenticate (saying which: unknown, revoked, expired, roles changed), or None."""
    if row is None:
        return AuthError(401, "invalid_token", "This API token is unknown; send the whole token as it was issued.")
    if row.revoked_at is not None:
        return AuthError(401, "token_revoked", f"This API token was revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC; "
                         "ask an admin for a new one.")
    if row.expires_at is not None and row.expires_at <= now:
        return AuthError(401, "token_expired", f"This API token expired on {row.expires_at:%Y-%m-%d %H:%M} UTC; "
                         "ask an admin for a new one.")
    if not _same_roles(row.principal, row.role, row.committee_roles):
        return AuthError(401, "token_roles_changed", f"This API token was issued as "
                         f"{_roles_text(row.role, row.committee_roles)}, and its principal's roles have changed "
                         "since; ask an admin for a new one.")
    return None


def authenticate() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "unauthenticated", "Send an API token: 'Authorization: Bearer <token>'.")
    digest = hash_token(token.strip())
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest)
                            .options(joinedload(ApiToken.principal)))  # one round trip, not two
    now = utcnow()
    refusal = _refusal(row if row is not None and hmac.compare_digest(row.token_hash, digest) else None, now)
    if refusal is not None:
        raise refusal
    assert row is not None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row.principal


def current_principal() -> Principal:
    return g.connector_principal  # type: ignore[no-any-return]


def source_app_connection(principal: Principal) -> str | None:
    """The connection a ``source_app`` principal reads (None for any other principal)."""
    if principal.role != SOURCE_APP or not principal.name.startswith(SOURCE_APP_PREFIX):
        return None
    return principal.name[len(SOURCE_APP_PREFIX):]


_PRINCIPAL = "connector.principal"  # in the WSGI environ: one request's, never another's (``g`` can outlive it)


def committee_refusal(principal: Principal, committee: str | None) -> AuthError | None:
    """The 403 for a principal without the committee standing a route asks (``CHAIR``: the policy's chair role;
    ``MEMBER``: any committee role), or None. The operations check the same again, with the request's state."""
    held = principal.committee_roles or []
    if committee == CHAIR:
        chair = current_policy().chair
        if chair not in held:
            return AuthError(403, "chair_only", f"Only the chair ({chair}) records decisions and amends, renews or "
                             "revokes exceptions.", {"chair": chair})
    elif committee == MEMBER and not held:
        return AuthError(403, "committee_role_required", "Only committee members can do this; this reviewer holds "
                         "no committee role.", {"committee_roles": []})
    return None


def _authorize(roles: Sequence[str], committee: str | None = None) -> Principal:
    """The request's principal, authenticated once per request, if its role is one of ``roles`` (and it holds the
    ``committee`` standing asked)."""
    principal: Principal | None = request.environ.get(_PRINCIPAL)
    if principal is None:
        principal = authenticate()
        request.environ[_PRINCIPAL] = principal
    if principal.role not in roles:
        raise AuthError(403, "forbidden", f"The {principal.role} role cannot do this; it needs one of: "
                        f"{', '.join(roles)}.", {"required_roles": list(roles)})
    refusal = committee_refusal(principal, committee)
    if refusal is not None:
        raise refusal
    g.connector_principal = principal
    return principal


def requires(*roles: str, committee: str | None = None) -> Callable[[F], F]:
    """Allow only principals whose role is one of ``roles`` (401 without a token, 403 otherwise) and, with
    ``committee`` (``CHAIR`` or ``MEMBER``), who hold that committee standing (403)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _authorize(roles, committee)
            return view(*args, **kwargs)

        wrapper._connector_roles = roles  # type: ignore[attr-defined]
        wrapper._connector_committee = committee  # type: ignore[attr-defined]
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
        _authorize(roles, getattr(view, "_connector_committee", None))

