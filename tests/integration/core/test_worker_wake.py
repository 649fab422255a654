"""Deliveries are sent as soon as the change that queued them commits: on PostgreSQL the commit notifies the
workers, which listen on a connection of their own that survives the database going away; a rolled-back change
wakes nobody."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from support.database import app_config, is_postgres
from support.servers import serve
from support.tcp_proxy import proxied

from adapters.billing import BillingReceiver
from connector import create_app, wake, worker
from connector.config import reconfigure
from connector.db import db
from connector.models import Delivery, ExceptionRequest, utcnow

SECRET = "whsec_" + "d2FrZS1vbi1jaGFuZ2UtdGVzdC1rZXktMQ=="
postgres_only = pytest.mark.skipif(not is_postgres(), reason="notifications are PostgreSQL's; SQLite polls")


def queue_delivery(app: Any, n: int) -> None:
    """A billing delivery queued the way the outbox does it (announced with the commit)."""
    with app.app_context():
        now = utcnow()
        req = ExceptionRequest(source="api", state="approved", fields={}, intake={}, risk_overrides={},
                               review_round=1, disputes=0, changed_after_decision=False, created_at=now,
                               updated_at=now)
        db.session.add(req)
        db.session.flush()
        db.session.add(Delivery(request_pk=req.pk, target="billing", change="decided", version=1,
                                message_id=f"msg_wake_{n:03d}", payload={"exception_id": req.id},
                                status="pending", attempts=0, next_attempt_at=now, created_at=now,
                                deadline=now.replace(year=now.year + 1)))
        wake.announce(f"{wake.DELIVERIES}:billing")
        db.session.commit()


def delivered(app: Any) -> int:
    with app.app_context():
        count = len(db.session.scalars(select(Delivery.id).where(Delivery.status == "delivered")).all())
        db.session.remove()
        return count


def wait_for(predicate: Any, timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.02)
    return None


def run_in_thread(app: Any, stop: threading.Event, poll: float | None) -> threading.Thread:
    loop = threading.Thread(target=worker.run_worker, args=(app,),
                            kwargs={"stop": stop, "poll": poll, "job_interval": 3600}, daemon=True)
    loop.start()
    return loop


@postgres_only
def test_a_queued_delivery_wakes_the_worker_at_once_not_at_its_timer(app, monkeypatch):
    monkeypatch.setattr(worker, "periodic_jobs", dict)
    receiver = BillingReceiver(SECRET)
    stop = threading.Event()
    with serve(receiver) as url:
        reconfigure(app, CONNECTOR_BILLING_WEBHOOK_URL=url, CONNECTOR_BILLING_WEBHOOK_SECRET=SECRET)
        loop = run_in_thread(app, stop, poll=60.0)  # the timer cannot be what sends them
        try:
            time.sleep(1.0)
            waits = []
            for n in range(3):
                queue_delivery(app, n)
                waits.append(wait_for(lambda n=n: delivered(app) == n + 1, 10))
        finally:
            stop.set()
            loop.join(30)
    assert all(w is not None and w < 2 for w in waits), waits
    assert not loop.is_alive()


@postgres_only
def test_a_rolled_back_change_notifies_nobody(app):
    with app.app_context():
        listener = db.engine.raw_connection()
        try:
            cursor = listener.cursor()
            cursor.execute(f"LISTEN {wake.CHANNEL}")
            listener.commit()
            wake.announce("deliveries:billing")
            db.session.execute(text("SELECT 1"))
            db.session.rollback()
            wake.announce("deliveries:email")
            db.session.commit()
            cursor.execute("SELECT 1")
            heard = [n.payload for n in listener.driver_connection.notifies(timeout=1.0)]
        finally:
            listener.close()
    assert heard == ["deliveries:email"]


@postgres_only
def test_the_listener_reconnects_after_a_database_outage_and_wakes_the_worker_again(database_url, monkeypatch):
    monkeypatch.setattr(worker, "periodic_jobs", dict)
    target = make_url(database_url)
    receiver = BillingReceiver(SECRET)
    stop = threading.Event()
    with proxied(target.host or "127.0.0.1", target.port or 5432) as proxy, serve(receiver) as url:
        through = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        app = create_app(app_config(through, CONNECTOR_BILLING_WEBHOOK_URL=url,
                                    CONNECTOR_BILLING_WEBHOOK_SECRET=SECRET))
        direct = create_app(app_config(database_url))
        loop = run_in_thread(app, stop, poll=60.0)
        try:
            time.sleep(1.0)
            queue_delivery(direct, 0)
            first = wait_for(lambda: delivered(direct) == 1, 10)
            proxy.cut()
            time.sleep(3)
            proxy.restore()
            time.sleep(4)  # the listener's backoff (1 s, 2 s) and its reconnection
            queue_delivery(direct, 1)
            again = wait_for(lambda: delivered(direct) == 2, 15)
        finally:
            stop.set()
            loop.join(30)
    assert first is not None and first < 2
    assert again is not None and again < 3, "the listener did not come back"
    assert not loop.is_alive()
