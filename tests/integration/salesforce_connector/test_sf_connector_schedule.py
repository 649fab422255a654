"""The worker's sync schedule after a failure: an outage is retried an interval later, never dropped."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from flask import Flask
from flask.testing import FlaskClient
from integration.salesforce_connector.mock_org import MockOrg, connection, sf_record, sync
from sqlalchemy import func, select

from connector import worker
from connector.config import reconfigure
from connector.db import db
from connector.models import AuditEvent, SyncRun, utcnow


def sync_due(app: Flask) -> dict[str, int]:
    """One worker round (``worker --once``): the schedule queues what is due, the connection's lane runs it; what
    the schedule's runs of this round came to."""
    with app.app_context():
        seen = db.session.scalar(select(func.max(SyncRun.id))) or 0
        db.session.commit()
        worker.run_worker(app, once=True)
        runs = list(db.session.scalars(select(SyncRun).where(SyncRun.id > seen, SyncRun.trigger == "schedule")))
        assert all(run.requested_by == "schedule" for run in runs)
        return {"synced": sum(run.state == "completed" for run in runs),
                "stopped": sum(run.state == "stopped" for run in runs)}


def status_events(app: Flask) -> list[str]:
    with app.app_context():
        return [e.data["status"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "connection.status").order_by(AuditEvent.seq))]


def test_an_outage_is_retried_an_interval_later_and_the_connection_recovers(
        app: Flask, client: FlaskClient, admin: dict[str, str], org: MockOrg, connected: str) -> None:
    reconfigure(app, CONNECTOR_SYNC_INTERVAL_SECONDS=300)
    org.add(sf_record(1))
    assert sync(client, admin)["created"] == 1
    with time_machine.travel(utcnow() + timedelta(seconds=301), tick=False) as clock:
        org.fault("query_all", 503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "try later"}], times=2)
        assert sync_due(app) == {"synced": 0, "stopped": 1}
        assert connection(client, admin)["status"] == "error"
        org.add(sf_record(2, minutes=600))
        clock.shift(60)
        assert sync_due(app) == {"synced": 0, "stopped": 0}  # not before an interval has passed since it failed
        clock.shift(241)
        assert sync_due(app) == {"synced": 0, "stopped": 1}  # still down: tried again, status unchanged
        events = status_events(app)
        clock.shift(301)
        assert sync_due(app) == {"synced": 1, "stopped": 0}
    assert connection(client, admin)["status"] == "connected"
    assert org.calls["query_all"] >= 4
    assert events.count("error") == 1  # the second identical failure wrote no second audit event
    assert status_events(app)[-1] == "connected"
    keys = {item["external_id"] for item in client.get("/api/v1/requests", headers=admin).get_json()["items"]}
    assert keys == {sf_record(1)["Id"], sf_record(2)["Id"]}


def test_a_connection_waiting_for_authorization_is_not_retried(
        app: Flask, client: FlaskClient, admin: dict[str, str], org: MockOrg, connected: str) -> None:
    reconfigure(app, CONNECTOR_SYNC_INTERVAL_SECONDS=0)
    org.revoke_refresh_tokens()  # the session and its refresh token are gone: only an admin can authorise again
    sync(client, admin)
    assert connection(client, admin)["status"] == "needs_authorization"
    calls = dict(org.calls)
    assert sync_due(app) == {"synced": 0, "stopped": 0}
    assert dict(org.calls) == calls
