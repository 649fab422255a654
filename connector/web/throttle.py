"""Sign-in throttling: after 5 failed password sign-ins for one email, or 20 from one client address, within 15
minutes, sign-in answers 429 for 15 minutes.

Failures and locks live in the database, so every web worker (and every machine) counts the same attempts. Both
are kept only as long as they matter: each failure prunes what has aged out of the window. A lock is audited once,
when it begins; the attempts it refuses are not recorded at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from connector import audit
from connector.db import db
from connector.models import SignInFailure, SignInLock, utcnow
from connector.web.accounts import find_by_email, normalize_email

EMAIL_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW = timedelta(minutes=15)
LOCK_TIME = timedelta(minutes=15)

_WHAT = {"email": "for this email address", "address": "from your network address"}


@dataclass(frozen=True)
class Lock:
    """Sign-in is refused for ``scope`` (``email`` or ``address``) until ``until``."""

    scope: str
    until: datetime

    def retry_after(self, now: datetime | None = None) -> int:
        return max(1, int((self.until - (now or utcnow())).total_seconds() + 0.999))

    def message(self, now: datetime | None = None) -> str:
        minutes = -(-self.retry_after(now) // 60)
        return (f"Too many failed sign-ins {_WHAT[self.scope]}, so sign-in is paused until "
                f"{self.until:%H:%M} UTC (in {minutes} minute{'s' if minutes != 1 else ''}). Try again then; if "
                "you have forgotten your password, ask an admin to set a new one.")


def _digest(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()


def _keys(email: str, address: str) -> dict[str, str]:
    return {"email": _digest("email", normalize_email(email)), "address": _digest("address", address)}


def current_lock(email: str, address: str, now: datetime | None = None) -> Lock | None:
    """The lock in force for this email or this address (the later-ending one), or None."""
    now = now or utcnow()
    keys = _keys(email, address)
    locks = db.session.scalars(select(SignInLock).where(
        ((SignInLock.scope == "email") & (SignInLock.key == keys["email"]))
        | ((SignInLock.scope == "address") & (SignInLock.key == keys["address"])),
        SignInLock.locked_until > now)).all()
    if not locks:
        return None
    latest = max(locks, key=lambda lock: lock.locked_until)
    return Lock(latest.scope, latest.locked_until)


def record_failure(email: str, address: str, now: datetime | None = None) -> Lock | None:
    """Count one failed sign-in; the lock it starts (audited here, once), or None. The caller commits it even
    though the request fails."""
    now = now or utcnow()
    keys = _keys(email, address)
    _prune(now)
    db.session.add(SignInFailure(email_key=keys["email"], address_key=keys["address"], failed_at=now))
    db.session.flush()
    started = None
    for scope, column, limit in (("email", SignInFailure.email_key, EMAIL_LIMIT),
                                 ("address", SignInFailure.address_key, ADDRESS_LIMIT)):
        failures = db.session.scalar(select(func.count()).select_from(SignInFailure)
                                     .where(column == keys[scope], SignInFailure.failed_at > now - WINDOW)) or 0
        if failures >= limit and _start_lock(scope, keys[scope], now):
            _audit_lock(scope, email, address, failures, now)
            started = Lock(scope, now + LOCK_TIME)
    return started


def _prune(now: datetime) -> None:
    """Drop what no longer counts. Rows another request is pruning are skipped, not waited for (PostgreSQL's
    ``SKIP LOCKED``; SQLite runs one writer at a time), so concurrent failed sign-ins never deadlock here."""
    aged = select(SignInFailure.id).where(SignInFailure.failed_at <= now - WINDOW).with_for_update(skip_locked=True)
    db.session.execute(delete(SignInFailure).where(SignInFailure.id.in_(aged)))
    ended = (select(SignInLock.scope, SignInLock.key).where(SignInLock.locked_until <= now)
             .with_for_update(skip_locked=True))
    db.session.execute(delete(SignInLock).where(tuple_(SignInLock.scope, SignInLock.key).in_(ended)))


def _audit_lock(scope: str, email: str, address: str, failures: int, now: datetime) -> None:
    """One event per lock. The email is named only when it is an account's: what was typed may be anything."""
    account = find_by_email(email)
    subject = f"address:{address}" if scope == "address" else \
        f"principal:{account.principal.name}" if account is not None else "sign-in"
    audit.append("anonymous", "sign_in.locked", subject,
                 {"scope": scope, "email": account.email if account is not None else None, "address": address,
                  "failures": failures, "window_minutes": int(WINDOW.total_seconds()) // 60,
                  "locked_until": (now + LOCK_TIME).isoformat()})


def _start_lock(scope: str, key: str, now: datetime) -> bool:
    """Insert the lock; False when another worker's request locked the same key first."""
    try:
        with db.session.begin_nested():
            db.session.add(SignInLock(scope=scope, key=key, locked_at=now, locked_until=now + LOCK_TIME))
    except IntegrityError:
        return False
    return True


def forget_email_failures(email: str) -> None:
    """A successful sign-in clears the email's count (its address still counts the failures)."""
    key = _keys(email, "")["email"]
    db.session.execute(update(SignInFailure).where(SignInFailure.email_key == key).values(email_key=None))
