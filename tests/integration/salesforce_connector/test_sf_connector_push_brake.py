"""Outbound Message pushes respect the daily API share like the sync: while a connection is paused its events
are kept, pending and uncounted, spend no calls and hold up no other connection; they are processed on resume."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from integration.salesforce_connector.mock_org import MockOrg, connection, envelope, post, record_id, sf_record, sync
from sqlalchemy import select

from connector import sync as sync_module
from connector.db import db
from connector.models import InboundEvent


def process(app: Flask) -> dict[str, int]:
    with app.app_context():
        result = sync_module.process_events()
        db.session.commit()
        return result


def events(app: Flask) -> list[tuple[str, int]]:
    with app.app_context():
        return [(e.status, e.attempts) for e in db.session.scalars(select(InboundEvent).order_by(InboundEvent.id))]


def test_pushes_wait_while_the_daily_share_is_used_and_are_processed_on_resume(
        app: Flask, client: FlaskClient, admin: dict[str, str], org: MockOrg, connected: str) -> None:
    org.add(sf_record(1))
    org.usage = [14000, 15000]  # 93 % of the daily allocation, above the 80 % share
    sync(client, admin)  # its one page says 93 %: the next sync stops before querying
    sync(client, admin)
    assert connection(client, admin)["status"] == "paused"
    org.add(*(sf_record(n) for n in range(2, 12)))
    notifications = [f"04l5g00000{n:05d}AAA" for n in range(2, 12)]
    assert post(client, envelope([record_id(n) for n in range(2, 12)], notifications)).status_code == 200
    before = dict(org.calls)
    assert process(app) == {"processed": 0, "failed": 0}
    assert dict(org.calls) == before  # not one call while paused
    assert events(app) == [("pending", 0)] * 10

    org.usage = [3000, 15000]  # the rolling window freed calls
    sync(client, admin)
    assert connection(client, admin)["status"] == "connected"
    assert process(app) == {"processed": 10, "failed": 0}
    assert events(app) == [("processed", 1)] * 10


def test_a_push_that_finds_the_share_used_pauses_without_failing_the_event(
        app: Flask, client: FlaskClient, admin: dict[str, str], org: MockOrg, connected: str) -> None:
    org.add(sf_record(1))
    org.usage = [11000, 15000]  # 73 %: the sync stays connected
    sync(client, admin)
    assert connection(client, admin)["status"] == "connected"
    with app.app_context():  # what the last reading said: above the share, so the push checks /limits first
        from connector.models import Connection

        conn = db.session.scalar(select(Connection).where(Connection.name == "sf"))
        assert conn is not None
        conn.settings = {**conn.settings, "api_usage_share": 0.93}
        db.session.commit()
    org.usage = [14000, 15000]
    org.add(*(sf_record(n) for n in range(2, 7)))
    notifications = [f"04l5g00000{n:05d}AAA" for n in range(2, 7)]
    assert post(client, envelope([record_id(n) for n in range(2, 7)], notifications)).status_code == 200
    queries, limits = org.calls["query_all"], org.calls["limits"]
    assert process(app) == {"processed": 0, "failed": 0}
    assert org.calls["query_all"] == queries  # /limits said no: no query spent
    assert org.calls["limits"] == limits + 1  # and the rest of the batch waited without asking again
    assert connection(client, admin)["status"] == "paused"
    assert events(app) == [("pending", 0)] * 5
