"""Who is signed in to the UI: the session cookie names an account; views declare the roles they allow."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from connector import audit
from connector.auth import committee_refusal
from connector.db import db
from connector.models import Principal, UserAccount, utcnow
from connector.web.accounts import session_fingerprint

F = TypeVar("F", bound=Callable[..., Any])
_ACCOUNT = "connector_account"
_FINGERPRINT = "connector_account_fp"


def current_account() -> UserAccount | None:
    """The signed-in account of this request (cached on ``g``), or None."""
    if "connector_account" in g:
        return g.connector_account  # type: ignore[no-any-return]
    account = None
    account_id = session.get(_ACCOUNT)
    if isinstance(account_id, int):
        account = db.session.get(UserAccount, account_id)
        if account is None or account.disabled_at is not None \
                or session.get(_FINGERPRINT) != session_fingerprint(account):
            account = None
            session.pop(_ACCOUNT, None)
    g.connector_account = account
    if account is not None:
        g.connector_principal = account.principal
    return account


def current_user() -> Principal | None:
    account = current_account()
    return account.principal if account is not None else None


def sign_in(account: UserAccount, method: str) -> None:
    """Start a fresh session (nothing carried over from before sign-in) and record the sign-in."""
    session.clear()
    session[_ACCOUNT] = account.id
    session[_FINGERPRINT] = session_fingerprint(account)
    account.last_sign_in_at = utcnow()
    audit.append(account.principal.name, "account.signed_in", f"principal:{account.principal.name}",
                 {"method": method})
    g.connector_account = account
    g.connector_principal = account.principal


def sign_out() -> None:
    session.clear()
    g.connector_account = None


#: what a plain local path may contain: printable ASCII without space or backslash (anything else arrives
#: percent-encoded from a browser). Control characters could split the Location header (``/%0D%0ALocation:``),
#: and browsers drop tabs and newlines from a URL, so ``/\t/evil`` would become ``//evil``.
_PATH_CHARACTERS = frozenset(chr(code) for code in range(0x21, 0x7F)) - {"\\"}


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a plain local path (``/requests?state=in_review``), else None (the caller goes home):
    a ``next`` parameter must never send someone to another host, nor reach a header as anything but a path."""
    if not target or not target.startswith("/") or target.startswith("//") or not set(target) <= _PATH_CHARACTERS:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def requires_sign_in(*roles: str, committee: str | None = None) -> Callable[[F], F]:
    """Signed-in principals whose role is one of ``roles`` (and, with ``committee``, who hold that committee
    standing: ``auth.CHAIR`` or ``auth.MEMBER``); others go to sign-in or get a 403 page before any form is read."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            account = current_account()
            if account is None:
                path = request.full_path if request.query_string else request.path
                return redirect(url_for("connector_web.sign_in", next=path if request.method == "GET" else None))
            if roles and account.principal.role not in roles:
                abort(403, f"Your role ({account.principal.role}) cannot open this page; it needs one of: "
                           f"{', '.join(roles)}.")
            refusal = committee_refusal(account.principal, committee)
            if refusal is not None:
                abort(403, refusal.message)
            return view(*args, **kwargs)

        wrapper._connector_roles = roles  # type: ignore[attr-defined]
        wrapper._connector_committee = committee  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def redirect_home() -> Response:
    return redirect(url_for("connector_web.index"))
