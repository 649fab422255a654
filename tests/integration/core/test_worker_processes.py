"""Workers as real processes against one database: exactly-once claims and crash recovery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.database import is_postgres
from support.servers import serve

from adapters.billing import BillingReceiver
from connector import audit
from connector.db import db
from connector.models import AuditEvent, Delivery, ExceptionRequest, utcnow

ROOT = Path(__file__).resolve().parents[3]
SECRET = "whsec_" + "cHJvY2Vzcy10ZXN0LXNpZ25pbmcta2V5"


def seed_deliveries(app, count: int) -> None:
    with app.app_context():
        now = utcnow()
        requests = [ExceptionRequest(source="api", state="approved", fields={}, intake={}, risk_overrides={},
                                     review_round=1, disputes=0, changed_after_decision=False, created_at=now,
                                     updated_at=now) for _ in range(count)]
        db.session.add_all(requests)
        db.session.flush()
        db.session.add_all([
            Delivery(request_pk=r.pk, target="billing", change="decided", version=1, message_id=f"msg_{i:05d}",
                     payload={"exception_id": r.id, "version": 1}, status="pending", attempts=0,
                     next_attempt_at=now, created_at=now, deadline=now.replace(year=now.year + 1))
            for i, r in enumerate(requests)])
        db.session.commit()


def start_worker(app, billing_url: str, **extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CONNECTOR_DATABASE_URL": app.config["CONNECTOR_DATABASE_URL"],
           "CONNECTOR_SECRET_KEY": "x", "CONNECTOR_BILLING_WEBHOOK_URL": billing_url,
           "CONNECTOR_BILLING_WEBHOOK_SECRET": SECRET, **extra}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "connector", "worker", "--poll", "0.1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def status_counts(app) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        db.session.remove()
        return dict(rows)  # type: ignore[arg-type]


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.skipif(not is_postgres(), reason="several workers need PostgreSQL (SKIP LOCKED)")
def test_four_workers_send_500_deliveries_exactly_once(app):
    seed_deliveries(app, 500)
    receiver = BillingReceiver(SECRET)
    with serve(receiver) as url:
        workers = [start_worker(app, url) for _ in range(4)]
        try:
            done = wait_for(lambda: status_counts(app).get("delivered") == 500, 120)
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            for w in workers:
                w.wait(20)
    assert done, status_counts(app)
    assert len(receiver.received) == 500
    assert len(receiver.by_id) == 500 and receiver.refused == 0
    with app.app_context():  # four processes appended attempt events concurrently: still one linear chain
        result = audit.verify()
        attempts = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                     .where(AuditEvent.action == "delivery.attempted"))
    assert result.ok and result.checked >= 500 and attempts == 500


def test_killed_worker_leaves_delivery_pending_and_a_new_worker_sends_it(app):
    seed_deliveries(app, 1)
    receiver = BillingReceiver(SECRET, delay=2.0)
    with serve(receiver) as url:
        first = start_worker(app, url, CONNECTOR_DELIVERY_LEASE_SECONDS="4", CONNECTOR_HTTP_TIMEOUT="3")
        assert wait_for(lambda: receiver.arrivals >= 1, 30), first.stderr.read() if first.poll() else "no call"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert status_counts(app) == {"pending": 1}
        second = start_worker(app, url, CONNECTOR_DELIVERY_LEASE_SECONDS="4", CONNECTOR_HTTP_TIMEOUT="3")
        try:
            assert wait_for(lambda: status_counts(app).get("delivered") == 1, 30)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
        wait_for(lambda: len(receiver.received) >= 2, 5)
    assert receiver.arrivals >= 2  # the killed worker's attempt and the new worker's
    assert {entry["id"] for entry in receiver.received} == {"msg_00000"}
    assert len(receiver.by_id) == 1
