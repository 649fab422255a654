"""Four worker processes against one PostgreSQL database, SIGKILLed and restarted mid-batch while they send write-
backs to both sandboxes and approvals to billing: nothing lost, nothing delivered twice, nothing out of order per
(request, target)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from support.database import ENCRYPTION_KEY, is_postgres
from support.sandboxes import sandboxed_sources
from support.servers import serve

from adapters.billing import BillingReceiver
from connector import operations
from connector.config import reconfigure, settings
from connector.db import db
from connector.models import AuditEvent, Delivery, ExceptionRequest, Principal, WorkerHeartbeat, utcnow

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_" + "a2lsbHMtdGVzdC1zaWduaW5nLWtleS0x"
RECORDS = 80  # per source: intake write-backs, then the decisions' write-backs (and approvals to billing)
VERSIONS = 3  # billing versions queued for each of BILLED requests: they must arrive in order
BILLED = 50

pytestmark = pytest.mark.skipif(not is_postgres(), reason="several workers need PostgreSQL (SKIP LOCKED)")


def decide_all(app: Any) -> None:
    with app.app_context():
        chair = db.session.scalar(select(Principal).where(Principal.name == "iso-chair"))
        for req in db.session.scalars(select(ExceptionRequest).where(ExceptionRequest.state == "in_review")):
            if req.track == "fast":
                operations.decide(req, chair, "approved", "kill test", {
                    "grants": (req.fields or {}).get("requested_terms") or {"other": "as requested"},
                    "expires_at": (date.today() + timedelta(days=90)).isoformat()})
            else:
                operations.decide(req, chair, "denied", "kill test", None)
        db.session.commit()
        db.session.remove()


def seed_billing(app: Any) -> None:
    """``BILLED`` requests with ``VERSIONS`` billing deliveries each, all pending (sent in version order)."""
    with app.app_context():
        now = utcnow()
        requests = [ExceptionRequest(source="api", state="approved", fields={}, intake={}, risk_overrides={},
                                     review_round=1, disputes=0, changed_after_decision=False, created_at=now,
                                     updated_at=now) for _ in range(BILLED)]
        db.session.add_all(requests)
        db.session.flush()
        db.session.add_all([
            Delivery(request_pk=r.pk, target="billing", change="amended", version=v,
                     message_id=f"msg_kill_{i:03d}_{v}", payload={"exception_id": r.id, "version": v},
                     status="pending", attempts=0, next_attempt_at=now, created_at=now,
                     deadline=now + timedelta(days=1))
            for v in range(1, VERSIONS + 1) for i, r in enumerate(requests)])
        db.session.commit()
        db.session.remove()


def start_worker(app: Any) -> subprocess.Popen[bytes]:
    config = settings(app)
    env = {**os.environ, "CONNECTOR_DATABASE_URL": config.database_url, "CONNECTOR_SECRET_KEY": "test-secret",
           "CONNECTOR_ENCRYPTION_KEYS": ENCRYPTION_KEY, "CONNECTOR_BASE_URL": config.base_url,
           "CONNECTOR_ALLOWED_INSTANCE_HOSTS": ",".join(config.allowed_instance_hosts),
           "CONNECTOR_BILLING_WEBHOOK_URL": config.billing_webhook_url or "",
           "CONNECTOR_BILLING_WEBHOOK_SECRET": SECRET, "CONNECTOR_DELIVERY_LEASE_SECONDS": "3",
           "CONNECTOR_DELIVERY_BATCH_SIZE": "15", "CONNECTOR_HTTP_TIMEOUT": "5"}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "connector", "worker", "--poll", "0.1",
                             "--job-interval", "3600"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def reporting(app: Any, workers: list[subprocess.Popen[bytes]], timeout: float = 20) -> None:
    """Wait until each worker process has written its heartbeat (it is running its loop)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with app.app_context():
            names = set(db.session.scalars(select(WorkerHeartbeat.worker)))
            db.session.remove()
        if all(any(name.endswith(f":{w.pid}") for name in names) for w in workers):
            return
        time.sleep(0.2)


def statuses(app: Any) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        db.session.remove()
        return {status: int(count) for status, count in rows}


def test_sigkilled_workers_lose_nothing_and_keep_order(database_url):
    receiver = BillingReceiver(SECRET, delay=0.01)
    rng = random.Random(15)
    with serve(receiver) as billing, sandboxed_sources(database_url, RECORDS, drain=False,
                                                       CONNECTOR_BILLING_WEBHOOK_URL=billing,
                                                       CONNECTOR_BILLING_WEBHOOK_SECRET=SECRET) as app:
        reconfigure(app, CONNECTOR_BILLING_WEBHOOK_URL=billing, CONNECTOR_BILLING_WEBHOOK_SECRET=SECRET)
        seed_billing(app)
        workers = [start_worker(app) for _ in range(4)]
        kills = 0
        started = time.monotonic()
        try:
            time.sleep(2.0)
            decide_all(app)  # while the intake write-backs are being sent: the decisions queue behind them
            total = sum(statuses(app).values())
            while time.monotonic() - started < 75 and statuses(app).get("pending", 0):
                time.sleep(rng.uniform(0.5, 1.5))
                if kills < 6:
                    victim = rng.randrange(len(workers))
                    workers[victim].send_signal(signal.SIGKILL)
                    workers[victim].wait(10)
                    workers[victim] = start_worker(app)
                    kills += 1
            final = statuses(app)
            reporting(app, workers)  # a worker SIGTERMed before it set its handlers would die of the signal
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            codes = [w.wait(30) for w in workers]
        wall = time.monotonic() - started
        with app.app_context():
            rows = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
            attempts = db.session.execute(
                select(AuditEvent.data).where(AuditEvent.action == "delivery.attempted")).scalars().all()
            db.session.remove()
    print(f"\n{total} deliveries, {kills} SIGKILLs, drained in {wall:.1f} s: {final}; billing received "
          f"{len(receiver.received)} calls for {len(receiver.by_id)} message ids ({receiver.arrivals} arrivals); "
          f"worker exit codes {codes}")
    assert total >= 300 and kills >= 4
    assert final.get("pending", 0) == 0 and final.get("dead", 0) == 0, final  # 0 lost
    assert codes == [0, 0, 0, 0]
    billing_ids = {r.message_id for r in rows if r.target == "billing" and r.status == "delivered"}
    assert set(receiver.by_id) == billing_ids and receiver.refused == 0  # each under its one message id
    first_arrivals: dict[str, list[int]] = {}
    for entry in receiver.received:  # arrival order; a resend after a kill repeats its message id
        if receiver.by_id[entry["id"]] is entry:
            first_arrivals.setdefault(entry["payload"]["exception_id"], []).append(entry["payload"]["version"])
    out_of_order = [k for k, versions in first_arrivals.items() if versions != sorted(versions)]
    assert not out_of_order and sum(map(len, first_arrivals.values())) >= BILLED * VERSIONS
    delivered_events: dict[int, int] = {}
    for data in attempts:
        if data.get("result") == "delivered":
            delivered_events[data["delivery_id"]] = delivered_events.get(data["delivery_id"], 0) + 1
    assert all(count == 1 for count in delivered_events.values())  # recorded exactly once
    last: dict[tuple[int, str], Any] = {}
    for row in rows:  # in id order: each (request, target) delivered in the order it was queued
        if row.status != "delivered":
            continue
        key = (row.request_pk, row.target)
        assert key not in last or last[key] <= row.delivered_at, (key, last[key], row.delivered_at)
        last[key] = row.delivered_at
