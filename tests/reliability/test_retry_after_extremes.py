"""``Retry-After`` from billing at its extremes: ``1e12``, ``inf``, ``nan``, ``-5``, an HTTP date in 2099.

The worker (its real loop, in a thread) must survive every one of them, and each row must be tried once more at
its deadline and then be ``dead``: never an ``OverflowError``, never parked beyond its maximum age.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from support.servers import serve

from connector import delivery, worker
from connector.config import reconfigure
from connector.db import db
from connector.models import Delivery, ExceptionRequest, utcnow

SECRET = "whsec_" + "cmV0cnktYWZ0ZXItZXh0cmVtZXMta2V5"
VALUES = ["1e12", "inf", "nan", "-5", "Thu, 01 Jan 2099 00:00:00 GMT"]
MAX_AGE_SECONDS = 4.0


class AlwaysLimited:
    """A billing endpoint that answers every call 429 with the ``Retry-After`` given for its message id."""

    def __init__(self, by_message: dict[str, str]) -> None:
        self.by_message = by_message
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        message_id = environ.get("HTTP_WEBHOOK_ID", "")
        with self.lock:
            self.calls[message_id] = self.calls.get(message_id, 0) + 1
        start_response("429 Too Many Requests", [("Content-Type", "text/plain"),
                                                 ("Retry-After", self.by_message.get(message_id, "1e12"))])
        return [b"slow down"]


def seed(app: Any) -> dict[str, str]:
    with app.app_context():
        now = utcnow()
        by_message: dict[str, str] = {}
        for i, value in enumerate(VALUES):
            req = ExceptionRequest(source="api", state="approved", fields={}, intake={}, risk_overrides={},
                                   review_round=1, disputes=0, changed_after_decision=False, created_at=now,
                                   updated_at=now)
            db.session.add(req)
            db.session.flush()
            message_id = f"msg_extreme_{i}"
            by_message[message_id] = value
            db.session.add(Delivery(request_pk=req.pk, target="billing", change="decided", version=1,
                                    message_id=message_id, payload={"exception_id": req.id}, status="pending",
                                    attempts=0, next_attempt_at=now, created_at=now,
                                    deadline=now + timedelta(seconds=MAX_AGE_SECONDS)))
        db.session.commit()
        return by_message


def rows(app: Any) -> list[Delivery]:
    with app.app_context():
        found = list(db.session.scalars(select(Delivery).order_by(Delivery.id)))
        db.session.expunge_all()
        db.session.remove()
        return found


def test_extreme_retry_after_values_end_dead_at_the_deadline_and_the_worker_survives(app):
    by_message = seed(app)
    receiver = AlwaysLimited(by_message)
    stop = threading.Event()
    with serve(receiver) as url:
        reconfigure(app, CONNECTOR_BILLING_WEBHOOK_URL=url, CONNECTOR_BILLING_WEBHOOK_SECRET=SECRET)
        loop = threading.Thread(target=worker.run_worker, args=(app,), kwargs={"stop": stop, "poll": 0.1},
                                daemon=True)
        loop.start()
        try:
            end = time.monotonic() + 20
            while time.monotonic() < end and any(r.status == "pending" for r in rows(app)):
                assert loop.is_alive(), "the worker exited"
                time.sleep(0.2)
            assert loop.is_alive(), "the worker exited"
        finally:
            stop.set()
            loop.join(15)
    final = rows(app)
    print("\nRetry-After extremes:", {by_message[r.message_id]: (r.status, r.attempts) for r in final})
    assert [r.status for r in final] == ["dead"] * len(VALUES), [(r.message_id, r.status) for r in final]
    for row in final:
        # the first try, then one more at the deadline (-5 reads as 0: backoffs, then the deadline)
        assert receiver.calls[row.message_id] >= 2 if by_message[row.message_id] == "-5" else \
            receiver.calls[row.message_id] == 2
        assert row.next_attempt_at <= row.deadline
        assert "429" in (row.last_error or "")
    assert not loop.is_alive()


@pytest.mark.parametrize("value", VALUES)
def test_a_single_extreme_value_schedules_the_retry_at_the_deadline(app, value):
    """Without a loop: one attempt, and the row waits exactly until its deadline (not 2058, not an error)."""
    by_message = seed(app)
    receiver = AlwaysLimited(dict.fromkeys(by_message, value))
    with serve(receiver) as url:
        reconfigure(app, CONNECTOR_BILLING_WEBHOOK_URL=url, CONNECTOR_BILLING_WEBHOOK_SECRET=SECRET)
        with app.app_context():
            counts = delivery.drain()
    assert counts["retry"] == len(VALUES)
    for row in rows(app):
        assert row.status == "pending"
        if value == "-5":
            assert row.next_attempt_at <= row.deadline  # a backoff, no earlier than now
        else:
            assert row.next_attempt_at == row.deadline
