"""Retention: what the connector keeps only for a while, deleted by the worker's ``retention`` job.

Pushed events (Outbound Messages, Zendesk webhooks) are stored before they are acknowledged and kept after they
are processed, so a provider's redelivery is recognised as a duplicate: Salesforce retries an Outbound Message for
up to 24 hours, Zendesk a webhook for minutes. At 20 pushes a second that is 1.7 million rows a day, so processed and
failed events older than ``CONNECTOR_EVENT_RETENTION_DAYS`` (7) are deleted; a pending one never is (the worker
still owes it). Sync runs are kept 30 days (``connector.sync_runs``). Deletes go in chunks, each its own short
transaction, so a backlog never holds a long lock or one huge transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select

from connector import sync_runs
from connector.config import settings
from connector.db import db, unit_of_work
from connector.models import InboundEvent, utcnow

CHUNK = 5000
#: chunks a run deletes at most (the rest waits for the next run, a minute later)
MAX_CHUNKS = 100


def prune_events() -> int:
    """Delete processed and failed pushed events older than the retention; how many went."""
    days = settings().event_retention_days
    if days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=days)
    gone = 0
    for _ in range(MAX_CHUNKS):
        chunk = select(InboundEvent.id).where(InboundEvent.status.in_(("processed", "failed")),
                                              InboundEvent.received_at < cutoff).limit(CHUNK)
        with unit_of_work():  # each chunk its own short transaction
            result = cast(CursorResult[Any], db.session.execute(
                delete(InboundEvent).where(InboundEvent.id.in_(chunk.scalar_subquery()))))
        gone += result.rowcount
        if result.rowcount < CHUNK:
            break
    return gone


def run() -> dict[str, int]:
    """The worker's ``retention`` job."""
    with unit_of_work():
        runs = sync_runs.prune()
    return {"events": prune_events(), "sync_runs": runs}


__all__ = ["CHUNK", "MAX_CHUNKS", "prune_events", "run"]
