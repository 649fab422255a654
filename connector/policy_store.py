"""The policy in force: the highest stored version, parsed once per version and process, and looked up once per
transaction (a request that creates, evaluates and renders asks for it several times)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from connector import audit, policy_simulation
from connector.config import settings
from connector.db import db
from connector.governance.policy import Policy, default_policy_text, parse_policy
from connector.models import PolicyVersion

_cache: dict[tuple[str, int], Policy] = {}
_lock = threading.Lock()
_IN_FORCE_KEY = "connector_policy_in_force"


def current_version() -> int | None:
    return db.session.scalar(select(func.max(PolicyVersion.version)))


def current_policy() -> Policy:
    """The policy in force; the shipped default (version 0) until one is stored. Looked up once per transaction:
    the transaction keeps it until it ends (or stores a new version)."""
    info = db.session().info
    known: Policy | None = info.get(_IN_FORCE_KEY)
    if known is not None:
        return known
    policy = info[_IN_FORCE_KEY] = _policy_in_force()
    return policy


def _forget(session: Session, transaction: SessionTransaction, *_: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_IN_FORCE_KEY, None)


def install_session_hooks() -> None:
    """Forget the policy a transaction looked up when it ends (the next one looks again)."""
    if not event.contains(Session, "after_transaction_end", _forget):
        event.listen(Session, "after_transaction_end", _forget)


def _policy_in_force() -> Policy:
    version = current_version()
    url = str(db.engine.url)
    if version is None:
        key = (url, 0)
        if key not in _cache:
            _cache[key] = parse_policy(default_policy_text(), version=0)
        return _cache[key]
    key = (url, version)
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    row = db.session.get(PolicyVersion, version)
    assert row is not None
    policy = parse_policy(row.document, version=version)
    with _lock:
        _cache[key] = policy
    return policy


def store_policy(document: str, actor: str) -> Policy:
    """Validate then store a new version (raises ``InvalidInput`` and stores nothing when invalid)."""
    return store_policy_with_impact(document, actor)[0]


def store_policy_with_impact(document: str, actor: str) -> tuple[Policy, dict[str, Any]]:
    """``store_policy``, also answering the simulation of the new version against the one it replaces (what it
    changes for the requests already seen); the audit event carries the simulation's totals."""
    draft = parse_policy(document)
    impact = policy_simulation.run(current_policy(), draft)
    previous = current_version() or 0
    version = previous + 1
    db.session.add(PolicyVersion(version=version, document=document, created_by=actor))
    db.session.flush()
    audit.append(actor, "policy.changed", "policy", {
        "version": version, "previous_version": previous or None,
        "simulation": {"since": impact["since"], "compared_with": impact["current_version"], **impact["totals"]}})
    db.session().info.pop(_IN_FORCE_KEY, None)  # this transaction now sees the new version
    return parse_policy(document, version=version), impact


def ensure_default_policy(actor: str = "init") -> bool:
    """Store the initial policy as version 1 when none exists; True when it did.

    The initial policy is ``CONNECTOR_POLICY_FILE`` when configured, else the shipped default.
    """
    if current_version() is not None:
        return False
    path = settings().policy_file
    store_policy(Path(path).read_text("utf-8") if path else default_policy_text(), actor)
    return True
