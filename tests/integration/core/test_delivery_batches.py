"""A claim that spans several targets: every group is sent with no transaction open, and the whole batch keeps
its lease until its last group is recorded."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from connector import delivery, senders
from connector.config import reconfigure
from connector.db import db
from connector.models import Delivery, ExceptionRequest, utcnow
from connector.sources import Outcome


@pytest.fixture
def two_targets(app, client, token_for, small):
    """One request with a pending delivery to each of two targets (``alpha:1`` claimed before ``beta:1``)."""
    assert client.post("/api/v1/requests", json=small, headers=token_for("intake")).status_code == 201
    with app.app_context():
        db.session.execute(db.delete(Delivery))  # only the two below
        pk = db.session.scalar(select(ExceptionRequest.pk))
        now = utcnow()
        for n, target in enumerate(("alpha:1", "beta:1")):
            db.session.add(Delivery(request_pk=pk, target=target, change="decided", message_id=f"msg_{n}",
                                    payload={"n": n}, status="pending", attempts=0, next_attempt_at=now,
                                    deadline=now + timedelta(days=1)))
        db.session.commit()


def test_every_group_is_sent_with_no_transaction_open(app, two_targets, monkeypatch):
    seen: dict[str, dict[str, Any]] = {}

    def sender(target: str, rows: list[Delivery]) -> list[Outcome]:
        seen[target] = {"payloads": [row.payload for row in rows], "in_transaction": db.session().in_transaction()}
        if db.engine.dialect.name == "sqlite":  # can another connection take the write lock meanwhile?
            other = sqlite3.connect(db.engine.url.database, timeout=0.5, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                seen[target]["other_writer"] = "ok"
            except sqlite3.OperationalError as exc:
                seen[target]["other_writer"] = str(exc)
            finally:
                other.close()
        return [Outcome("delivered")] * len(rows)

    monkeypatch.setitem(senders.SENDERS, "alpha", sender)
    monkeypatch.setitem(senders.SENDERS, "beta", sender)
    with app.app_context():
        assert delivery.drain()["delivered"] == 2
    assert seen["alpha:1"]["payloads"] == [{"n": 0}] and seen["beta:1"]["payloads"] == [{"n": 1}]
    for target in ("alpha:1", "beta:1"):
        assert not seen[target]["in_transaction"], f"{target} was sent inside a transaction"
        assert seen[target].get("other_writer", "ok") == "ok", seen[target]


def test_the_groups_still_waiting_keep_their_lease_while_an_earlier_one_is_slow(app, two_targets, monkeypatch):
    reconfigure(app, CONNECTOR_DELIVERY_LEASE_SECONDS=0.6)
    sent: list[str] = []
    competitor: dict[str, list[str]] = {}

    def slow(target: str, rows: list[Delivery]) -> list[Outcome]:
        time.sleep(1.5)  # two and a half leases: the row of beta:1, still waiting, must not come free

        def other_worker() -> None:
            with app.app_context():
                competitor["claimed"] = [row.target for row in delivery.claim()]
                db.session.commit()

        thread = threading.Thread(target=other_worker)
        thread.start()
        thread.join(10)
        sent.append(target)
        return [Outcome("delivered")] * len(rows)

    def fast(target: str, rows: list[Delivery]) -> list[Outcome]:
        sent.append(target)
        return [Outcome("delivered")] * len(rows)

    monkeypatch.setitem(senders.SENDERS, "alpha", slow)
    monkeypatch.setitem(senders.SENDERS, "beta", fast)
    with app.app_context():
        assert delivery.drain()["delivered"] == 2
    assert competitor["claimed"] == [], "another worker claimed a row of the batch"
    assert sent == ["alpha:1", "beta:1"]
    with app.app_context():
        rows = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert [(r.status, r.attempts, r.lease_until) for r in rows] == [("delivered", 1, None)] * 2
