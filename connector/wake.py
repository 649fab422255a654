"""Wake the workers when there is work: a PostgreSQL ``NOTIFY`` sent with the commit that made the work.

A change that gives the worker something to do (a pushed event stored, a delivery queued by a decision or any
other change) names it with ``announce("events:<connection id>")``, ``announce("deliveries:<target>")`` or, for a
sync queued from the web, ``announce("syncs:<connection id>")`` in its
transaction. The topics are sent as ``pg_notify`` at the end of that transaction, so PostgreSQL delivers them
when, and only when, it commits (a rolled-back change wakes nobody, and a worker that wakes always finds the
rows). Each worker listens on a connection of its own (``connector.listener``) and acts at once; its timer stays
as the safety net. SQLite has no notifications: its one worker polls with a short interval instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from connector.db import db

CHANNEL = "connector_wake"
EVENTS = "events"
DELIVERIES = "deliveries"
SYNCS = "syncs"
_TOPICS_KEY = "connector_wake_topics"
#: PostgreSQL refuses payloads of 8,000 bytes or more; topics are short, this keeps a long target name safe
MAX_TOPIC = 1000


def announce(topic: str, session: Session | None = None) -> None:
    """Wake the workers about ``topic`` once the current transaction commits."""
    if session is None:
        session = db.session()
    topics: set[str] = session.info.setdefault(_TOPICS_KEY, set())
    topics.add(topic[:MAX_TOPIC])


def parse(topic: str) -> tuple[str, str]:
    """``("events", "<connection id>")``, ``("syncs", "<connection id>")`` or ``("deliveries", "<target>")``;
    ``("", topic)`` for anything else."""
    kind, _, rest = topic.partition(":")
    return (kind, rest) if kind in (EVENTS, DELIVERIES, SYNCS) and rest else ("", topic)


def _send(session: Session) -> None:
    topics = session.info.pop(_TOPICS_KEY, None)
    if not topics or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text("SELECT pg_notify(:channel, topic) FROM unnest(CAST(:topics AS text[])) AS topic"),
                    {"channel": CHANNEL, "topics": sorted(topics)})


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(_TOPICS_KEY, None)


def install_session_hooks() -> None:
    """Send the announced topics in the committing transaction (PostgreSQL delivers them on commit); forget them
    when it rolls back."""
    if not event.contains(Session, "before_commit", _send):
        event.listen(Session, "before_commit", _send)
    for name in ("after_rollback", "after_soft_rollback"):
        if not event.contains(Session, name, _forget):
            event.listen(Session, name, _forget)


__all__ = ["CHANNEL", "DELIVERIES", "EVENTS", "SYNCS", "announce", "install_session_hooks", "parse"]
