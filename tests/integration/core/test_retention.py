"""The retention job: old processed and failed pushed events go, in chunks; pending ones and recent ones stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from connector import connections, retention, worker
from connector.config import reconfigure
from connector.db import db
from connector.models import InboundEvent, utcnow

SETTINGS = {"client_id": "3MVG9example", "client_secret": "not-in-clear", "login_url": "https://login.salesforce.com"}


def add_events(conn_id: int, status: str, age: timedelta, count: int, start: int = 0) -> None:
    when = utcnow() - age
    db.session.add_all([InboundEvent(connection_id=conn_id, event_key=f"{status}-{start + n}", external_id=str(n),
                                     payload={}, status=status, received_at=when) for n in range(count)])
    db.session.commit()


def left(status: str) -> int:
    return int(db.session.scalar(select(func.count()).select_from(InboundEvent)
                                 .where(InboundEvent.status == status)) or 0)


def test_old_finished_events_are_deleted_in_chunks_and_pending_ones_kept(app, monkeypatch) -> None:
    monkeypatch.setattr(retention, "CHUNK", 3)
    with app.app_context():
        conn = connections.create("sf", "salesforce", SETTINGS, "test")
        db.session.commit()
        old = timedelta(days=8)
        add_events(conn.id, "processed", old, 7)
        add_events(conn.id, "failed", old, 2)
        add_events(conn.id, "pending", old, 2)  # the worker still owes these
        add_events(conn.id, "processed", timedelta(days=6), 4, start=100)  # within the week: duplicates still caught
        assert worker.run_job("retention", worker.periodic_jobs()["retention"]) == {"events": 9, "sync_runs": 0}
        assert (left("processed"), left("failed"), left("pending")) == (4, 0, 2)


def test_a_retention_of_zero_keeps_everything(app) -> None:
    reconfigure(app, CONNECTOR_EVENT_RETENTION_DAYS=0)
    with app.app_context():
        conn = connections.create("sf", "salesforce", SETTINGS, "test")
        db.session.commit()
        add_events(conn.id, "processed", timedelta(days=400), 3)
        assert retention.prune_events() == 0 and left("processed") == 3
