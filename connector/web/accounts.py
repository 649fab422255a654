"""Web sign-in accounts: a person's email and password hash, acting as one principal.

A principal holds the role and committee roles (as for API tokens); the account only proves who signs in.
Passwords are hashed with werkzeug's scrypt; accounts without one sign in through OpenID Connect only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from connector import audit
from connector.auth import live_tokens, role_problem
from connector.db import db
from connector.models import Principal, UserAccount, utcnow

MIN_PASSWORD_LENGTH = 12
#: compared against when the email is unknown, so a wrong email costs the same time as a wrong password
_DUMMY_HASH = generate_password_hash("not-a-password-of-anyone")


class AccountError(ValueError):
    """A refused account change, with a message a person can act on."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_by_email(email: str) -> UserAccount | None:
    return db.session.scalar(select(UserAccount).where(func.lower(UserAccount.email) == normalize_email(email)))


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Use a password of at least {MIN_PASSWORD_LENGTH} characters.")


def create_account(email: str, role: str, committee_roles: Sequence[str] = (), *, password: str | None,
                   name: str | None = None, actor: str = "cli") -> UserAccount:
    """Create the account and its principal (or take over the principal ``name`` names, e.g. a token holder)."""
    email = normalize_email(email)
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise AccountError(f"'{email}' is not an email address.")
    problem = role_problem(role, committee_roles)
    if problem:
        raise AccountError(problem)
    if password is not None:
        check_password_rules(password)
    if find_by_email(email) is not None:
        raise AccountError(f"An account for {email} already exists.")
    principal_name = name or email
    principal = db.session.scalar(select(Principal).where(Principal.name == principal_name))
    if principal is None:
        principal = Principal(name=principal_name, role=role, committee_roles=list(committee_roles))
        db.session.add(principal)
    else:
        taken = db.session.scalar(select(UserAccount.id).where(UserAccount.principal_id == principal.id))
        if taken is not None:
            raise AccountError(f"The principal '{principal_name}' already has a sign-in account.")
        _check_tokens_keep_their_roles(principal, role, committee_roles)
        principal.role, principal.committee_roles = role, list(committee_roles)
    db.session.flush()
    account = UserAccount(principal_id=principal.id, email=email,
                          password_hash=generate_password_hash(password) if password is not None else None,
                          created_at=utcnow())
    db.session.add(account)
    db.session.flush()
    audit.append(actor, "account.created", f"principal:{principal.name}",
                 {"email": email, "role": role, "committee_roles": list(committee_roles),
                  "sign_in": "password" if password is not None else "oidc"})
    return account


def _check_tokens_keep_their_roles(principal: Principal, role: str, committee_roles: Sequence[str]) -> None:
    """An account taking over a principal must not change the roles its live API tokens were issued with."""
    if principal.role == role and set(principal.committee_roles) == set(committee_roles):
        return
    if live_tokens(principal):
        raise AccountError(f"The principal '{principal.name}' holds API tokens issued as {principal.role}, and a "
                           f"token keeps its roles: give the account that role, or revoke the tokens first "
                           f"(`tokens revoke --name '{principal.name}'`).")


def set_password(account: UserAccount, password: str, actor: str = "cli") -> None:
    check_password_rules(password)
    account.password_hash = generate_password_hash(password)
    audit.append(actor, "account.password_changed", f"principal:{account.principal.name}", {"email": account.email})


def verify_password(email: str, password: str) -> UserAccount | None:
    """The active account whose password this is, else None (same work whether or not the email exists)."""
    account = find_by_email(email)
    stored = account.password_hash if account is not None and account.password_hash else _DUMMY_HASH
    matches = check_password_hash(stored, password)
    if account is None or account.password_hash is None or account.disabled_at is not None or not matches:
        return None
    return account


def disable_account(account: UserAccount, actor: str) -> bool:
    """Refuse the account's sign-ins and end its sessions now (their fingerprint no longer matches, and stays
    different after ``enable_account``). False when it was already disabled."""
    if account.disabled_at is not None:
        return False
    account.disabled_at = utcnow()
    account.session_epoch = (account.session_epoch or 0) + 1
    audit.append(actor, "account.disabled", f"principal:{account.principal.name}", {"email": account.email})
    return True


def enable_account(account: UserAccount, actor: str) -> bool:
    """Let the account sign in again (its old sessions stay ended). False when it was not disabled."""
    if account.disabled_at is None:
        return False
    account.disabled_at = None
    audit.append(actor, "account.enabled", f"principal:{account.principal.name}", {"email": account.email})
    return True


def session_fingerprint(account: UserAccount) -> str:
    """Changes when the password does or the account is disabled, so either ends every other signed-in session."""
    material = f"{account.id}:{account.password_hash or ''}"
    if account.session_epoch:  # epoch 0 adds nothing: sessions begun before epochs existed stay valid
        material += f":{account.session_epoch}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]
