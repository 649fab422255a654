"""The worker survives errors (counted, kept on its heartbeat, retried), stops gracefully, and its lanes release
what their budget did not let them send; held rows never outlive their deadline."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from support.servers import serve

from adapters.billing import BillingReceiver
from connector import delivery, lane_budget, worker
from connector.config import reconfigure
from connector.db import db
from connector.lanes import backoff
from connector.models import Delivery, ExceptionRequest, WorkerHeartbeat, utcnow
from connector.observability import WORKER_ERRORS
from connector.sources import Outcome

SECRET = "whsec_" + "cmVzaWxpZW5jZS10ZXN0LWtleS0xMjM0"


def seed(app: Any, count: int, target: str = "billing", deadline: timedelta = timedelta(days=1)) -> None:
    with app.app_context():
        now = utcnow()
        for i in range(count):
            req = ExceptionRequest(source="api", state="approved", fields={}, intake={}, risk_overrides={},
                                   review_round=1, disputes=0, changed_after_decision=False, created_at=now,
                                   updated_at=now)
            db.session.add(req)
            db.session.flush()
            db.session.add(Delivery(request_pk=req.pk, target=target, change="decided", version=1,
                                    message_id=f"msg_res_{i:03d}", payload={"exception_id": req.id},
                                    status="pending", attempts=0, next_attempt_at=now, created_at=now,
                                    deadline=now + deadline))
        db.session.commit()


def rows(app: Any) -> list[Delivery]:
    with app.app_context():
        found = list(db.session.scalars(select(Delivery).order_by(Delivery.id)))
        db.session.expunge_all()
        db.session.remove()
        return found


def errors(stage: str) -> float:
    return WORKER_ERRORS.labels(stage)._value.get()


def test_the_worker_survives_database_errors_and_keeps_the_last_one_on_its_heartbeat(app, monkeypatch):
    seed(app, 3)
    real = delivery.due_targets
    failures = {"left": 2}

    def flaky() -> list[str]:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("SELECT target FROM deliveries WHERE secret = %(p)s", {"p": "lec_abcdef123456"},
                                   ConnectionRefusedError("connection refused"))
        return real()

    monkeypatch.setattr(delivery, "due_targets", flaky)
    monkeypatch.setattr(worker, "HEARTBEAT_SECONDS", 0.0)
    before = errors("claim")
    receiver = BillingReceiver(SECRET)
    stop = threading.Event()
    with serve(receiver) as url:
        reconfigure(app, CONNECTOR_BILLING_WEBHOOK_URL=url, CONNECTOR_BILLING_WEBHOOK_SECRET=SECRET)
        loop = threading.Thread(target=worker.run_worker, args=(app,), kwargs={"stop": stop, "poll": 0.05})
        loop.start()
        end = time.monotonic() + 15
        while time.monotonic() < end and any(r.status != "delivered" for r in rows(app)):
            time.sleep(0.1)
        alive = loop.is_alive()
        stop.set()
        loop.join(10)
    assert alive and not loop.is_alive()
    assert [r.status for r in rows(app)] == ["delivered"] * 3
    assert errors("claim") - before == 2
    with app.app_context():
        beat = db.session.scalars(select(WorkerHeartbeat)).one()
    assert beat.last_error is not None and beat.last_error_at is not None
    assert beat.last_error.startswith("claim: OperationalError: connection refused")
    assert "SELECT" not in beat.last_error and "lec_" not in beat.last_error


def test_errors_back_off_from_1_s_doubling_to_60_s():
    assert [backoff(n) for n in (1, 2, 3, 4, 6, 7, 50)] == [1, 2, 4, 8, 32, 60, 60]


def test_a_stopping_worker_finishes_the_send_in_flight_and_releases_the_rest(app):
    seed(app, 6)
    receiver = BillingReceiver(SECRET, delay=0.4)
    stop = threading.Event()
    with serve(receiver) as url:
        reconfigure(app, CONNECTOR_BILLING_WEBHOOK_URL=url, CONNECTOR_BILLING_WEBHOOK_SECRET=SECRET)
        loop = threading.Thread(target=worker.run_worker, args=(app,), kwargs={"stop": stop, "poll": 0.05})
        loop.start()
        end = time.monotonic() + 10
        while receiver.arrivals < 1 and time.monotonic() < end:
            time.sleep(0.02)
        stop.set()  # SIGTERM: the call in flight is answered and recorded, nothing more is sent
        loop.join(10)
    final = rows(app)
    sent = [r for r in final if r.status == "delivered"]
    rest = [r for r in final if r.status != "delivered"]
    assert 1 <= len(sent) <= 2 and len(sent) == len(receiver.by_id)
    assert rest and all(r.status == "pending" and r.lease_until is None and r.attempts == 0 for r in rest)


def test_a_lane_whose_budget_is_spent_releases_the_rest_of_its_batch_unsent(app):
    seed(app, 5)
    receiver = BillingReceiver(SECRET, delay=0.3)
    with serve(receiver) as url:
        reconfigure(app, CONNECTOR_BILLING_WEBHOOK_URL=url, CONNECTOR_BILLING_WEBHOOK_SECRET=SECRET)
        with app.app_context():
            claimed = delivery.claim(targets=["billing"])
            with lane_budget.budget(0.5):
                counts = delivery.send_claimed(claimed)
    assert counts["delivered"] == 2 and counts[lane_budget.UNSENT] == 3
    final = rows(app)
    assert [r.status for r in final] == ["delivered"] * 2 + ["pending"] * 3
    assert all(r.lease_until is None and r.attempts == 0 and r.next_attempt_at <= utcnow() for r in final[2:])


def test_claim_for_one_target_leaves_the_others(app):
    seed(app, 2)
    seed_other = [("connection:zd", 2)]
    with app.app_context():
        now = utcnow()
        for target, _ in seed_other:
            req = db.session.scalars(select(ExceptionRequest)).first()
            db.session.add(Delivery(request_pk=req.pk, target=target, change="decided", message_id="msg_other",
                                    payload={}, status="pending", attempts=0, next_attempt_at=now, created_at=now,
                                    deadline=now + timedelta(days=1)))
        db.session.commit()
        assert delivery.due_targets() == ["billing", "connection:zd"]
        claimed = delivery.claim(targets=["connection:zd"])
        assert [r.target for r in claimed] == ["connection:zd"]
        assert delivery.due_targets() == ["billing"]  # the claimed one is in flight


@pytest.mark.parametrize(("past_deadline", "status"), [(False, "pending"), (True, "dead")])
def test_a_held_row_waits_until_its_deadline_at_most_then_is_dead(app, past_deadline, status):
    seed(app, 1, deadline=timedelta(seconds=-1 if past_deadline else 60))
    with app.app_context():
        row = db.session.scalars(select(Delivery)).one()
        row.attempts = 1
        delivery._record(row, "LEX-1", Outcome("held", "connection zd is paused", retry_after=1e12), utcnow())
        db.session.commit()
        assert row.status == status
        assert row.next_attempt_at <= row.deadline or past_deadline
        if past_deadline:
            assert row.last_error == "maximum age reached while held: connection zd is paused"
